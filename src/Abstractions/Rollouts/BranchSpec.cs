namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// Everything a rollout branch needs: the policy, the task item, sampling, limits, and for a forked child the parent
/// trajectory and the fork position (the end of one of the parent's tool results, as a token offset): the child's
/// sandbox replays the parent's calls up to there and the child continues from the parent's tokens [0, ForkPosition).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.branch-spec.v1")]
public sealed record BranchSpec(
    [property: Id(0)] string GroupId,
    [property: Id(1)] string PolicyId,
    [property: Id(2)] string TaskName,
    [property: Id(3)] string ItemJson,
    [property: Id(4)] SamplingSettings Sampling,
    [property: Id(5)] RolloutLimits Limits,
    [property: Id(6)] int Seed,
    [property: Id(7)] long MinPolicyVersion = 0,
    [property: Id(8)] Trajectory? Parent = null,
    [property: Id(9)] int ForkPosition = 0,
    [property: Id(10)] IReadOnlyDictionary<string, string>? TaskOptions = null);
