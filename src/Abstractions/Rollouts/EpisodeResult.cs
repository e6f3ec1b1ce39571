namespace AgentRl.Abstractions.Rollouts;

/// <summary>A finished group: its trajectories with rewards and their named parts, and for a tree what branching did.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.episode-result.v1")]
public sealed record EpisodeResult(
    [property: Id(0)] string EpisodeId,
    [property: Id(1)] IReadOnlyList<Trajectory> Trajectories,
    [property: Id(2)] double ElapsedMs,
    [property: Id(3)] BranchingStats? Branching = null);
