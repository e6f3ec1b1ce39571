using AgentRl.Abstractions.Cluster;
using AgentRl.Grains.Placement;

namespace AgentRl.Cluster.Tests.Placement;

/// <summary>A grain that says which silo it was activated on.</summary>
public interface IPlacementProbeGrain : IGrainWithIntegerKey
{
    Task<string> GetSiloAsync();
}

/// <summary>Pinned to <c>agentrl.accelerator=cuda</c> silos, no fallback.</summary>
[RequireSiloMetadata(SiloMetadataKeys.Accelerator, "cuda")]
public sealed class CudaPinnedProbeGrain : Grain, IPlacementProbeGrain
{
    public Task<string> GetSiloAsync() => Task.FromResult(GrainContext.Address.SiloAddress!.ToString());
}

/// <summary>Placed like a trainer: cuda silos, or trainer-role silos when CPU training is allowed.</summary>
public interface ITrainerProbeGrain : IPlacementProbeGrain;

[TrainerPlacement]
public sealed class TrainerProbeGrain : Grain, ITrainerProbeGrain
{
    public Task<string> GetSiloAsync() => Task.FromResult(GrainContext.Address.SiloAddress!.ToString());
}

/// <summary>Prefers rollout silos; activates other probes from there.</summary>
public interface IRolloutRelayGrain : IPlacementProbeGrain
{
    /// <summary>Activates <paramref name="count"/> cuda-pinned probes starting at key <paramref name="firstKey"/> and returns their silos.</summary>
    Task<string[]> ActivateCudaPinnedAsync(long firstKey, int count);
}

[PreferSiloRole("rollout")]
public sealed class RolloutRelayGrain : Grain, IRolloutRelayGrain
{
    public Task<string> GetSiloAsync() => Task.FromResult(GrainContext.Address.SiloAddress!.ToString());

    public Task<string[]> ActivateCudaPinnedAsync(long firstKey, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.GetGrain<IPlacementProbeGrain>(firstKey + i, typeof(CudaPinnedProbeGrain).FullName).GetSiloAsync()));
}
