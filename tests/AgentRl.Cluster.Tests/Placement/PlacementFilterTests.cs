using System.Diagnostics;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Placement;

namespace AgentRl.Cluster.Tests.Placement;

/// <summary>
/// Silo 0: cpu, roles rollout,tools,trainer, CPU trainer allowed. Silo 1: cuda, role trainer.
/// </summary>
public sealed class CudaClusterFixture : IAsyncLifetime
{
    public AgentRlTestCluster Cluster { get; private set; } = null!;

    public string CpuSilo { get; private set; } = "";

    public string CudaSilo { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Cluster = await AgentRlTestCluster.StartAsync(2, (index, o) =>
        {
            o.Accelerator = index == 1 ? "cuda" : "cpu";
            o.EmulateCuda = index == 1;
            o.Roles = index == 1 ? "trainer" : "rollout,tools,trainer";
            o.AllowCpuTrainer = index == 0;
        });
        CpuSilo = PlacementFilterTests.SiloAddress(Cluster, 0);
        CudaSilo = PlacementFilterTests.SiloAddress(Cluster, 1);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class PlacementFilterTests(CudaClusterFixture fixture) : IClassFixture<CudaClusterFixture>
{
    private const int Activations = 200;

    internal static string SiloAddress(AgentRlTestCluster cluster, int index) =>
        cluster.Cluster.Silos.Single(s => AgentRlTestCluster.SiloIndex(s.Name) == index).SiloAddress.ToString();

    private static IPlacementProbeGrain CudaPinned(IGrainFactory factory, long key) =>
        factory.GetGrain<IPlacementProbeGrain>(key, typeof(CudaPinnedProbeGrain).FullName);

    [Fact]
    public async Task RequireSiloMetadata_CallsFromClient_AllActivationsLandOnTheCudaSilo()
    {
        var client = fixture.Cluster.Client;

        var silos = await Task.WhenAll(Enumerable.Range(0, Activations).Select(i => CudaPinned(client, 1_000 + i).GetSiloAsync()));

        Assert.Equal(Activations, silos.Length);
        Assert.All(silos, s => Assert.Equal(fixture.CudaSilo, s));
    }

    [Fact]
    public async Task RequireSiloMetadata_CallsFromAGrainOnTheCpuSilo_AllActivationsLandOnTheCudaSilo()
    {
        var relay = fixture.Cluster.Client.GetGrain<IRolloutRelayGrain>(1);
        Assert.Equal(fixture.CpuSilo, await relay.GetSiloAsync());

        var silos = await relay.ActivateCudaPinnedAsync(firstKey: 2_000, Activations);

        Assert.Equal(Activations, silos.Length);
        Assert.All(silos, s => Assert.Equal(fixture.CudaSilo, s));
    }

    [Fact]
    public async Task TrainerPlacement_CudaSiloActive_IgnoresTheCpuFallback()
    {
        var client = fixture.Cluster.Client;

        var silos = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.GetGrain<ITrainerProbeGrain>(3_000 + i).GetSiloAsync()));

        Assert.All(silos, s => Assert.Equal(fixture.CudaSilo, s));
    }

    [Fact]
    public async Task PreferSiloRole_RolloutSiloActive_AllActivationsLandOnIt()
    {
        var client = fixture.Cluster.Client;

        var silos = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.GetGrain<IRolloutRelayGrain>(4_000 + i).GetSiloAsync()));

        Assert.All(silos, s => Assert.Equal(fixture.CpuSilo, s));
    }
}

public sealed class CpuOnlyPlacementTests
{
    [Fact]
    public async Task TrainerPlacement_NoCudaSiloAndCpuNotAllowed_FailsFastWithAnExplanation()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 1 ? "trainer" : "rollout,tools");
        var trainer = cluster.Client.GetGrain<ITrainerProbeGrain>(1);

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<NoCompatibleSiloException>(() => trainer.GetSiloAsync().ExplainTrainerPlacementFailure());
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"placement failure took {watch.Elapsed}");
        Assert.StartsWith("no silo with agentrl.accelerator=cuda is active; start a GPU silo or allow CPU training", error.Message);
        Assert.Contains("AgentRl:Silo:AllowCpuTrainer=true", error.Message);
        Assert.Contains("allowCpuTraining", error.Message);
        Assert.True(PlacementFailures.IsNoCompatibleSilo(error.InnerException!));
    }

    [Fact]
    public async Task RequireSiloMetadata_NoMatchingSilo_FailsWithTheKeyAndValue()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2);
        var pinned = cluster.Client.GetGrain<IPlacementProbeGrain>(1, typeof(CudaPinnedProbeGrain).FullName);

        var error = await Assert.ThrowsAsync<NoCompatibleSiloException>(() => pinned.GetSiloAsync().ExplainPlacementFailure("agentrl.accelerator", "cuda"));

        Assert.StartsWith("no silo with agentrl.accelerator=cuda is active", error.Message);
        Assert.Equal("agentrl.accelerator", error.Key);
    }

    [Fact]
    public async Task TrainerPlacement_NoCudaSiloButTheRunAllowsCpu_LandsOnTheTrainerSilo()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 1 ? "trainer" : "rollout,tools");
        var trainerSilo = PlacementFilterTests.SiloAddress(cluster, 1);

        string[] silos;
        using (PlacementRequestContext.AllowCpuTrainer())
        {
            silos = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => cluster.Client.GetGrain<ITrainerProbeGrain>(i).GetSiloAsync()));
        }

        Assert.All(silos, s => Assert.Equal(trainerSilo, s));
        Assert.Null(RequestContext.Get(PlacementRequestContext.AllowCpuTrainerKey));
    }

    [Fact]
    public async Task TrainerPlacement_NoCudaSiloButASiloAllowsCpu_LandsOnThatTrainerSiloOnly()
    {
        // Silo 0 has the trainer role but does not allow CPU training; silo 1 does.
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) =>
        {
            o.Roles = index == 1 ? "trainer" : "rollout,tools,trainer";
            o.AllowCpuTrainer = index == 1;
        });
        var allowingSilo = PlacementFilterTests.SiloAddress(cluster, 1);

        var silos = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => cluster.Client.GetGrain<ITrainerProbeGrain>(i).GetSiloAsync()));

        Assert.All(silos, s => Assert.Equal(allowingSilo, s));
    }

    [Fact]
    public void Explain_UnrelatedError_ReturnsNull() =>
        Assert.Null(PlacementFailures.Explain(new TimeoutException("slow"), "agentrl.accelerator", "cuda"));
}
