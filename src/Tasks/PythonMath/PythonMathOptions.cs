namespace AgentRl.Tasks.PythonMath;

/// <summary>Difficulty knobs of python-math.</summary>
public sealed record PythonMathOptions : TaskOptions
{
    /// <summary>Problem families to draw from, comma-separated (see <see cref="PythonMathProblems.Families"/>). Default: all.</summary>
    public string Families { get; init; } = string.Join(',', PythonMathProblems.Families.Select(f => f.Name));

    /// <summary>Scale of the numbers: ranges span up to this many integers, Collatz starts below 10×, dates up to 5× days apart. Default 1000.</summary>
    public int Scale { get; init; } = 1000;

    public override void Validate()
    {
        base.Validate();
        if (Scale is < 20 or > 100_000)
        {
            throw new ArgumentException($"scale must be in [20, 100000], got {Scale}.");
        }

        var unknown = FamilyNames.Except(PythonMathProblems.Families.Select(f => f.Name)).ToList();
        if (FamilyNames.Count == 0 || unknown.Count > 0)
        {
            throw new ArgumentException(
                $"Unknown or no python-math families '{string.Join(',', unknown)}'; known: {string.Join(',', PythonMathProblems.Families.Select(f => f.Name))}.");
        }
    }

    internal IReadOnlyList<string> FamilyNames =>
        Families.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
