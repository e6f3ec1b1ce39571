using AgentRl.Abstractions.Cluster;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests;

public sealed class ClusterInfoGrainTests
{
    [Fact]
    public async Task GetSilos_TwoSiloCluster_ListsBothWithTheirOwnMetadata()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) =>
        {
            o.Accelerator = index == 1 ? "cuda" : "cpu";
            o.EmulateCuda = index == 1;
            o.Roles = index == 1 ? "trainer" : "rollout,tools";
        });

        var silos = await cluster.Client.GetGrain<IClusterInfoGrain>(0).GetSilosAsync();

        Assert.Equal(2, silos.Count);
        Assert.All(silos, s => Assert.Equal("Active", s.Status));
        var trainer = Assert.Single(silos, s => s.Metadata[SiloMetadataKeys.Accelerator] == "cuda");
        Assert.Equal("trainer", trainer.Metadata[SiloMetadataKeys.Roles]);
        var rollout = Assert.Single(silos, s => s.Metadata[SiloMetadataKeys.Accelerator] == "cpu");
        Assert.Equal("rollout,tools", rollout.Metadata[SiloMetadataKeys.Roles]);
        Assert.Equal("true", trainer.Metadata[SiloMetadataKeys.EmulatedCuda]);
        Assert.False(rollout.Metadata.ContainsKey(SiloMetadataKeys.EmulatedCuda));
        // An emulated cuda label computes on the CPU: auto devices resolve there, in f32.
        Assert.Equal("engine cpu f32, trainer cpu f32", trainer.Metadata[SiloMetadataKeys.Compute]);
        Assert.Equal("engine cpu f32, trainer cpu f32", rollout.Metadata[SiloMetadataKeys.Compute]);
        Assert.NotEqual(trainer.Address, rollout.Address);
    }

    [Fact]
    public async Task GetSilos_AfterASiloStops_ReportsItAsNoLongerActive()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2);
        var secondary = cluster.Cluster.Silos.Single(s => AgentRlTestCluster.SiloIndex(s.Name) == 1);

        await cluster.Cluster.StopSiloAsync(secondary);
        var silos = await cluster.Client.GetGrain<IClusterInfoGrain>(0).GetSilosAsync();

        var stopped = Assert.Single(silos, s => s.Address == secondary.SiloAddress.ToString());
        Assert.NotEqual("Active", stopped.Status);
        Assert.Empty(stopped.Metadata);
        Assert.Single(silos, s => s.Status == "Active");
    }
}
