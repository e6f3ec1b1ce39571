namespace AgentRl.Abstractions.Cluster;

/// <summary>
/// Answers questions about the cluster from inside it: membership joined with each silo's metadata
/// (which a client cannot read directly). Key: 0.
/// </summary>
public interface IClusterInfoGrain : IGrainWithIntegerKey
{
    /// <summary>Every silo the membership table knows, active ones first; metadata is empty for silos that are gone.</summary>
    Task<IReadOnlyList<SiloInfo>> GetSilosAsync(CancellationToken cancellationToken = default);
}
