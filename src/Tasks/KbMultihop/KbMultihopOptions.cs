namespace AgentRl.Tasks.KbMultihop;

/// <summary>Size and difficulty knobs of the kb-multihop task (each item gets its own small generated world).</summary>
public sealed record KbMultihopOptions : TaskOptions
{
    /// <summary>Fewest chained searches a question needs (2 or 3). Default 2.</summary>
    public int MinHops { get; init; } = 2;

    /// <summary>Most chained searches a question needs (2 or 3). Default 3.</summary>
    public int MaxHops { get; init; } = 3;

    /// <summary>People per world (each has a document). Default 4.</summary>
    public int People { get; init; } = 4;

    /// <summary>Companies per world (each has a document and a founder). Default 3.</summary>
    public int Companies { get; init; } = 3;

    /// <summary>Cities per world (each has a document). Default 4.</summary>
    public int Cities { get; init; } = 4;

    /// <summary>Countries per world (answers only, no documents). Default 3.</summary>
    public int Countries { get; init; } = 3;

    /// <summary>The <c>k</c> the demonstrations pass to kb-search. Default 2.</summary>
    public int SearchTopK { get; init; } = 2;

    /// <summary>Whether the correctness weight multiplies token F1 (true) or exact match (false). Default true.</summary>
    public bool ScoreWithF1 { get; init; } = true;

    public override void Validate()
    {
        base.Validate();
        if (MinHops < 2 || MaxHops > 3 || MinHops > MaxHops)
        {
            throw new ArgumentException($"Need 2 <= minHops <= maxHops <= 3, got {MinHops}..{MaxHops}.");
        }

        if (People < 2 || Companies < 2 || Cities < 2 || Countries < 2)
        {
            throw new ArgumentException("A world needs at least 2 people, companies, cities and countries.");
        }

        if (Companies > People)
        {
            throw new ArgumentException($"Every company needs its own founder: companies ({Companies}) must not exceed people ({People}).");
        }

        if (People + Companies + Cities + Countries > 60)
        {
            throw new ArgumentException("At most 60 entities per world.");
        }

        if (SearchTopK < 1)
        {
            throw new ArgumentException($"searchTopK must be at least 1, got {SearchTopK}.");
        }
    }
}
