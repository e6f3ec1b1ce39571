namespace AgentRl.Abstractions.Rollouts;

/// <summary>Runs a group of rollouts for one prompt and scores them (key: <c>{run}/{step}/{prompt}</c>).</summary>
public interface IEpisodeGrain : IGrainWithStringKey
{
    Task<EpisodeResult> RunAsync(EpisodeSpec spec, CancellationToken cancellationToken = default);
}
