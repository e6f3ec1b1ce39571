using AgentRl.Abstractions.Cluster;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace AgentRl.Grains.Cluster;

/// <inheritdoc cref="IClusterInfoGrain"/>
public sealed class ClusterInfoGrain(ISiloMetadataCache metadataCache) : Grain, IClusterInfoGrain
{
    public async Task<IReadOnlyList<SiloInfo>> GetSilosAsync(CancellationToken cancellationToken = default)
    {
        var management = GrainFactory.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: false);
        return hosts
            .OrderBy(h => h.Status == SiloStatus.Active ? 0 : 1)
            .ThenBy(h => h.SiloName, StringComparer.Ordinal)
            .Select(h => new SiloInfo(
                h.SiloAddress.ToString(),
                h.SiloName ?? "",
                h.HostName ?? "",
                h.Status.ToString(),
                h.StartTime,
                h.Status == SiloStatus.Active ? ReadMetadata(h.SiloAddress) : new Dictionary<string, string>()))
            .ToList();
    }

    private Dictionary<string, string> ReadMetadata(SiloAddress silo) =>
        metadataCache.GetSiloMetadata(silo).Metadata.ToDictionary(StringComparer.Ordinal);
}
