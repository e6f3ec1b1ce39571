using System.Globalization;

namespace AgentRl.Abstractions.Configuration;

/// <summary>
/// The one validation style of AgentRl's options classes: a <c>Problems()</c> method collects every problem through this
/// helper — each naming the field in camelCase (as configuration and <c>--set</c> spell it), the value and the allowed
/// range — and <c>Validate()</c> throws them all at once with <see cref="ThrowIfAny{T}"/>.
/// </summary>
public sealed class OptionChecks
{
    private readonly List<string> _problems = [];

    /// <summary>The problems found so far.</summary>
    public IReadOnlyList<string> Problems => _problems;

    public void Add(string problem) => _problems.Add(problem);

    /// <summary>value &gt; 0 (and finite).</summary>
    public void Positive(string field, double value)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            Add($"{Camel(field)} = {Text(value)} is outside the allowed range (0, ∞)");
        }
    }

    /// <summary>value ≥ min (and finite).</summary>
    public void AtLeast(string field, double value, double min)
    {
        if (!(value >= min) || !double.IsFinite(value))
        {
            Add($"{Camel(field)} = {Text(value)} is outside the allowed range [{Text(min)}, ∞)");
        }
    }

    /// <summary>value &gt; min (and finite).</summary>
    public void Above(string field, double value, double min)
    {
        if (!(value > min) || !double.IsFinite(value))
        {
            Add($"{Camel(field)} = {Text(value)} is outside the allowed range ({Text(min)}, ∞)");
        }
    }

    /// <summary>min ≤ value ≤ max.</summary>
    public void Between(string field, double value, double min, double max)
    {
        if (!(value >= min && value <= max))
        {
            Add($"{Camel(field)} = {Text(value)} is outside the allowed range [{Text(min)}, {Text(max)}]");
        }
    }

    /// <summary>min ≤ value &lt; max.</summary>
    public void HalfOpen(string field, double value, double min, double max)
    {
        if (!(value >= min && value < max))
        {
            Add($"{Camel(field)} = {Text(value)} is outside the allowed range [{Text(min)}, {Text(max)})");
        }
    }

    /// <summary>A non-blank string.</summary>
    public void Required(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add($"{Camel(field)} = '{value}' must not be empty");
        }
    }

    /// <summary>A finite number.</summary>
    public void Finite(string field, double value)
    {
        if (!double.IsFinite(value))
        {
            Add($"{Camel(field)} = {Text(value)} must be a finite number");
        }
    }

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem, prefixed with <paramref name="section"/>.</summary>
    public static T ThrowIfAny<T>(T options, IEnumerable<string> problems, string section)
    {
        var list = problems.ToList();
        if (list.Count > 0)
        {
            throw new ArgumentException($"invalid {section} options: " + string.Join("; ", list.Select(p => $"{section}.{p}")));
        }
        return options;
    }

    /// <summary>A C# property name as configuration spells it: <c>ClipRatioHigh</c> → <c>clipRatioHigh</c>.</summary>
    public static string Camel(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
