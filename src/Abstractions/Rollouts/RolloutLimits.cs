namespace AgentRl.Abstractions.Rollouts;

/// <summary>The limits of one trajectory's multi-turn loop.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.rollout-limits.v1")]
public sealed record RolloutLimits(
    [property: Id(0)] int MaxTurns = 6,
    [property: Id(1)] int MaxNewTokensPerTurn = 96,
    [property: Id(2)] int ContextBudget = 256,
    [property: Id(3)] int MaxToolCalls = 8,
    [property: Id(4)] double ToolTimeoutSeconds = 10,
    [property: Id(5)] int EntropyWindow = 20);
