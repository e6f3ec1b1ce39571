namespace AgentRl.Abstractions.Rollouts;

/// <summary>One trajectory path (key: <c>{episode}/{path}</c>, e.g. <c>run/3/7/0.2</c>): generate → tool call → observation, until done.</summary>
public interface IRolloutBranchGrain : IGrainWithStringKey
{
    Task<Trajectory> RunAsync(BranchSpec spec, CancellationToken cancellationToken = default);
}
