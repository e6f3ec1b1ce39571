using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Checkpoints;
using Microsoft.Extensions.DependencyInjection;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>A run whose configuration selects the Azure Blob checkpoint store, against a real Azurite started by the test.</summary>
public sealed class BlobCheckpointRunTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-blobrun-" + Guid.NewGuid().ToString("N"));

    private RunConfig Toy(int steps, AzuriteServer azurite) => ToyRuns.Config(_runDir, steps, warmStart: true) with
    {
        CheckpointStore = "azure-blob://agentrl-runs/team-a",
        CheckpointConnectionString = azurite.ConnectionString,
    };

    [Fact]
    public async Task BlobStoreRun_PublishesCheckpointsToAzurite_AndARolloutSiloLoadsThePublishedVersionFromThere()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("blob");

        await run.StartAsync(Toy(steps: 5, azurite));
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var store = CheckpointStoreFactory.Create(new CheckpointStoreOptions { Kind = "azure-blob", ConnectionString = azurite.ConnectionString, Container = "agentrl-runs", Prefix = "team-a" }, "blob");
        var versions = await store.ListVersionsAsync();
        Assert.Contains(status.PolicyVersion, versions);

        // Pruned like a local store: the newest three and the warm start's (step 0) survive the rotation.
        var recorded = RunStateFile.Read(Path.Combine(_runDir, "blob"))!.Checkpoints;
        Assert.Equal(Enumerable.Range(0, 6), recorded.Select(c => c.Step));
        Assert.Contains(recorded[0].Version, versions);
        Assert.True(versions.Count < recorded.Select(c => c.Version).Distinct().Count(), $"nothing pruned: {string.Join(", ", versions)}");

        // The connection string is a secret: the run's files do not keep it (the run grain's storage does).
        foreach (var file in new[] { "config.json", RunStateFile.FileName })
        {
            var text = File.ReadAllText(Path.Combine(_runDir, "blob", file));
            Assert.DoesNotContain("AccountKey", text, StringComparison.Ordinal);
            Assert.DoesNotContain(azurite.ConnectionString, text, StringComparison.Ordinal);
        }

        // eval --run downloads the step's checkpoint from the run's blob store, with the connection its silo is given.
        var eval = await Processes.RunAsync("env", [$"AgentRl__Checkpoints__ConnectionString={azurite.ConnectionString}", "dotnet", Processes.ClientDll, "eval", "--run", "blob", "--step", "0", "--run-dir", _runDir, "--show", "0"], TimeSpan.FromMinutes(3));
        Assert.True(eval.ExitCode == 0, eval.Stdout + eval.Stderr);
        Assert.Contains($"run blob step 0: checkpoint {store.GetLocation(recorded[0].Version)} ", eval.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^arithmetic: accuracy \d/2 = ", eval.Stdout);
        Assert.True(File.Exists(Path.Combine(_runDir, "blob", "eval-cache", CheckpointManifest.VersionName(recorded[0].Version), "config.json")), "the silo downloads the version into the run's eval-cache/");
        var latest = await cluster.Client.GetGrain<IPolicyRegistryGrain>("default").GetLatestAsync();
        Assert.Equal(status.PolicyVersion, latest.Version);
        Assert.Equal(store.GetLocation(latest.Version), latest.Location);
        Assert.StartsWith($"http://127.0.0.1:{azurite.Port}/devstoreaccount1/agentrl-runs/team-a/blob/checkpoints/v", status.CheckpointLocation, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_runDir, "blob", "checkpoints")), "no local checkpoints with the blob store");

        // The rollout-only silo has no trainer: the registry's blob location is its only way to the new weights.
        var rolloutSilo = cluster.Cluster.Silos.Single(s => AgentRlTestCluster.SiloIndex(s.Name) == 1);
        var policies = cluster.Cluster.GetSiloServiceProvider(rolloutSilo.SiloAddress).GetRequiredService<PolicyHost>();
        var registry = cluster.Client.GetGrain<IPolicyRegistryGrain>("default");
        await policies.EnsureVersionAsync("default", latest.Version, () => registry.GetLatestAsync(), CancellationToken.None);
        Assert.Equal(latest.Version, policies.Get("default").Engine.PolicyVersion);

        // The blob checkpoint is a complete Hugging Face directory.
        var download = Directory.CreateTempSubdirectory("agentrl-blobrun-dl-").FullName;
        try
        {
            var manifest = await store.DownloadAsync(latest.Version, download);
            Assert.Contains(manifest.Files, f => f.Name == "model.safetensors");
            Assert.Contains(manifest.Files, f => f.Name == "tokenizer.json");
        }
        finally
        {
            Directory.Delete(download, recursive: true);
        }
    }

    /// <summary>
    /// Azurite stopped during a run and started again 20 s later: the run pauses and says which store and when it tries
    /// again, then goes on by itself from its last checkpoint, and completes with every step recorded once, one RL update
    /// per step, and policy versions that never go back.
    /// </summary>
    [Fact]
    public async Task BlobStoreOutage_MidRun_PausesThenResumesByItselfWhenTheStoreIsBack()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("pause");
        var directory = Path.Combine(_runDir, "pause");
        const int steps = 8;
        await run.StartAsync(Toy(steps, azurite));
        await RunWaits.UntilAsync(run, s => s.IsFinished || RunStateFile.Read(directory) is { Step: >= 2 });

        await azurite.StopAsync();
        var paused = await RunWaits.UntilAsync(run, s => s.IsFinished || s.State == RunState.Paused);
        Assert.True(paused.State == RunState.Paused, $"{paused.State}: {paused.Error}");
        Assert.Contains($"azure-blob checkpoint store http://127.0.0.1:{azurite.Port}/devstoreaccount1", paused.Phase, StringComparison.Ordinal);
        Assert.Contains("next try in", paused.Phase, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(20));
        Assert.False((await run.GetStatusAsync()).IsFinished, "the run must wait out an outage shorter than storageOutageTimeout");

        await azurite.RestartAsync();
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 5);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), rows.Select(r => r.Step));
        var versions = rows.Where(r => r.Step > 0).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);
        var state = RunStateFile.Read(directory)!;
        var counters = System.Text.Json.JsonSerializer.Deserialize<AgentRl.Policy.Training.TrainerCounters>(File.ReadAllText(Path.Combine(state.TrainerPath(directory), "trainer_state.json")))!;
        Assert.Equal(steps, counters.RlSteps);
    }

    [Fact]
    public async Task BlobStoreOutage_LongerThanTheTimeout_FailsTheRunWithTheStoreErrorAndKeepsTheLastCheckpoint()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("outage");

        var directory = Path.Combine(_runDir, "outage");
        await run.StartAsync(Toy(steps: 50, azurite) with { StorageOutageTimeout = TimeSpan.FromSeconds(5) });
        await RunWaits.UntilAsync(run, s => s.IsFinished || RunStateFile.Read(directory) is { Step: >= 1 });
        await azurite.StopAsync();
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.Equal(RunState.Failed, status.State);
        Assert.StartsWith("storage unreachable for longer than storageOutageTimeout (00:00:05): ", status.Error, StringComparison.Ordinal);
        Assert.Contains($"azure-blob checkpoint store http://127.0.0.1:{azurite.Port}/devstoreaccount1", status.Error, StringComparison.Ordinal);
        Assert.Contains("could not", status.Error, StringComparison.Ordinal);

        // What was checkpointed before the outage stays resumable: run_state.json, trainer state, one metrics row per step.
        var state = RunStateFile.Read(directory)!;
        Assert.Equal(RunState.Failed, state.State);
        Assert.True(state.HasTrainerState);
        Assert.InRange(state.Step, 1, 49);
        Assert.Contains("could not", state.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(state.TrainerPath(directory), "trainer_state.json")));
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, state.Step + 1).Select(i => (long)i), rows.Select(r => r.Step));
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
