namespace AgentRl.Pipeline.Swarm;

/// <summary>
/// Bounds of one pool shard. Section <c>AgentRl:Pool</c> on every silo (the same on all of them). Each has a documented
/// default.
/// </summary>
public sealed class PoolLimits
{
    public const string SectionName = "AgentRl:Pool";

    /// <summary>Groups a shard keeps; past it the oldest are evicted. Default 512.</summary>
    public int ShardCapacity { get; set; } = 512;

    /// <summary>Completions a group may have. Default 64.</summary>
    public int MaxGroupSize { get; set; } = 64;

    /// <summary>Characters of one completion (texts, tool calls and observations). Default 65,536.</summary>
    public int MaxCompletionChars { get; set; } = 65_536;

    /// <summary>Characters of an item's JSON. Default 262,144.</summary>
    public int MaxItemChars { get; set; } = 262_144;

    /// <summary>Groups older than this are evicted. Default 1 hour.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Groups more than this many steps behind the newest group of the shard are evicted; 0 = no limit. Default 0.</summary>
    public int MaxAgeSteps { get; set; }

    public IEnumerable<string> Validate()
    {
        if (ShardCapacity < 1) yield return $"{SectionName}:ShardCapacity = {ShardCapacity} is outside the allowed range [1, ∞)";
        if (MaxGroupSize < 1) yield return $"{SectionName}:MaxGroupSize = {MaxGroupSize} is outside the allowed range [1, ∞)";
        if (MaxCompletionChars < 1) yield return $"{SectionName}:MaxCompletionChars = {MaxCompletionChars} is outside the allowed range [1, ∞)";
        if (MaxItemChars < 1) yield return $"{SectionName}:MaxItemChars = {MaxItemChars} is outside the allowed range [1, ∞)";
        if (MaxAge <= TimeSpan.Zero) yield return $"{SectionName}:MaxAge = {MaxAge} must be positive";
        if (MaxAgeSteps < 0) yield return $"{SectionName}:MaxAgeSteps = {MaxAgeSteps} is outside the allowed range [0, ∞)";
    }
}
