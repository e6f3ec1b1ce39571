namespace AgentRl.Abstractions.Rollouts;

/// <summary>What one prompt's rollout tree did, for the run's metrics.</summary>
/// <param name="InitialTrajectories">N chosen by the allocator.</param>
/// <param name="ForkPoints">Tool results whose following segment was measured (fork candidates evaluated).</param>
/// <param name="ForksRequested">Children the fork rule asked for.</param>
/// <param name="ForksTaken">Children granted (within the budget).</param>
/// <param name="TopUps">Fresh trajectories added after every path had ended.</param>
/// <param name="Rounds">Generations of the tree (lockstep rounds).</param>
/// <param name="EntropyDeltas">ΔH of every evaluated fork point.</param>
[GenerateSerializer, Immutable, Alias("agentrl.branching-stats.v1")]
public sealed record BranchingStats(
    [property: Id(0)] int InitialTrajectories,
    [property: Id(1)] int ForkPoints,
    [property: Id(2)] int ForksRequested,
    [property: Id(3)] int ForksTaken,
    [property: Id(4)] int TopUps,
    [property: Id(5)] int Rounds,
    [property: Id(6)] double[] EntropyDeltas)
{
    /// <summary>Children the rule asked for that the budget refused.</summary>
    public int ForksRefused => ForksRequested - ForksTaken;
}
