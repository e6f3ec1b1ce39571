using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.Training;
using Azure.Storage.Blobs;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// <c>runStore: azure-blob</c> against a real Azurite: the run folder is only a cache. After the run's folder is deleted
/// (a silo with an empty disk), clients still see the run through the cluster, and the run resumes from the store with its
/// trainer state, counting each step once.
/// </summary>
public sealed class BlobRunStoreTests : IDisposable
{
    private const string Container = "agentrl-runs";
    private const string Prefix = "team-b";
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-runstore-" + Guid.NewGuid().ToString("N"));

    private RunConfig Toy(int steps, AzuriteServer azurite) => ToyRuns.Config(_runDir, steps, warmStart: true) with
    {
        CheckpointStore = $"azure-blob://{Container}/{Prefix}",
        CheckpointConnectionString = azurite.ConnectionString,
        RunStore = "azure-blob",
    };

    [Fact]
    public async Task BlobRunStore_DiskWiped_ClientsSeeTheRunAndItResumesFromTheStore()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools", configuration: new Dictionary<string, string?>
        {
            ["AgentRl:RunStore:Kind"] = "azure-blob",
            ["AgentRl:RunStore:Container"] = Container,
            ["AgentRl:RunStore:Prefix"] = Prefix,
            ["AgentRl:Checkpoints:ConnectionString"] = azurite.ConnectionString,
        });
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("kept");
        var directory = Path.Combine(_runDir, "kept");

        await run.StartAsync(Toy(steps: 3, azurite));
        var first = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(first.State == RunState.Completed, $"{first.State}: {first.Error}");

        // The status turns Completed just before the end is recorded in run_state.json and pushed: wait for the store's copy.
        var container = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions(AzureBlobCheckpointStore.PinnedServiceVersion)).GetBlobContainerClient(Container);
        Assert.Equal(RunState.Completed, (await StoredStateAsync(container, TimeSpan.FromSeconds(30), s => s.State == RunState.Completed)).State);
        var blobs = await Names(container, $"{Prefix}/kept/");
        Assert.Contains($"{Prefix}/kept/files/run_state.json", blobs);
        Assert.Contains($"{Prefix}/kept/files/metrics.csv", blobs);
        Assert.Contains($"{Prefix}/kept/files/config.json", blobs);
        Assert.Contains(blobs, b => b.StartsWith($"{Prefix}/kept/files/trajectories/", StringComparison.Ordinal));
        // Only the trainer state run_state.json names is kept (step 3); earlier ones were pruned as run_state.json moved on.
        Assert.Contains($"{Prefix}/kept/trainer/s000003.complete", blobs);
        Assert.Contains($"{Prefix}/kept/trainer/s000003/{TrainerState.StateFileName}", blobs);
        Assert.DoesNotContain(blobs, b => b.StartsWith($"{Prefix}/kept/trainer/s000002", StringComparison.Ordinal));

        // The disk goes: everything a client shows still comes from the store, through the cluster.
        Directory.Delete(_runDir, recursive: true);
        var files = cluster.Client.GetGrain<IRunFilesGrain>(_runDir);
        Assert.Contains("kept", await files.ListRunsAsync());
        var state = await RunStateFile.ReadAsync(files, "kept");
        Assert.Equal((RunState.Completed, 3), (state!.State, state.Step));
        var metrics = await files.ReadTextAsync("kept", RunFiles.MetricsFile);
        Assert.Equal(5, metrics!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);   // header and steps 0-3
        Assert.NotEmpty(await files.ListTrajectoryFilesAsync("kept"));

        // And again with nothing on disk: the resumed run pulls run_state.json and the trainer state of step 3.
        Directory.Delete(_runDir, recursive: true);
        await run.StartAsync(Toy(steps: 6, azurite) with { Resume = true });
        var second = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(second.State == RunState.Completed, $"{second.State}: {second.Error}");
        Assert.Equal(6, second.Step);
        Assert.True(Directory.Exists(Path.Combine(directory, "trainer-restore", "s000003")), "the trainer state came from the store");

        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), rows.Select(r => r.Step));
        var versions = rows.Skip(1).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);

        // No update lost or applied twice: the restored optimizer count continues from step 3's.
        var perStep = rows.Skip(1).Sum(r => r.Values.GetValueOrDefault(MetricColumns.ToColumn("actor/optimizer_steps")));
        await using (var stream = await container.GetBlobClient($"{Prefix}/kept/trainer/s000006/{TrainerState.StateFileName}").OpenReadAsync())
        {
            using var trainerState = await JsonDocument.ParseAsync(stream);
            Assert.Equal(perStep, trainerState.RootElement.GetProperty("rl_optimizer_steps").GetInt64());
        }

        var stored = await StoredStateAsync(container, TimeSpan.FromSeconds(30), s => s.State == RunState.Completed && s.Step == 6);
        Assert.Equal((RunState.Completed, 6), (stored.State, stored.Step));
    }

    [Fact]
    public void RunStoreAzureBlob_WithALocalCheckpointStore_IsAConfigurationError()
    {
        var problems = new RunConfig { RunStore = "azure-blob" }.Validate().ToList();
        Assert.Contains(problems, p => p.StartsWith("runStore azure-blob needs checkpointStore azure-blob", StringComparison.Ordinal));
        Assert.Contains(new RunConfig { RunStore = "s3" }.Validate(), p => p.StartsWith("runStore must be local, azure-blob", StringComparison.Ordinal));
        Assert.DoesNotContain(new RunConfig { RunStore = "azure-blob://c/p", CheckpointStore = "azure-blob" }.Validate(), p => p.Contains("runStore", StringComparison.Ordinal));
    }

    private static async Task<RunStateFile> StoredStateAsync(BlobContainerClient container, TimeSpan timeout, Func<RunStateFile, bool> done)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = RunStateFile.Parse((await container.GetBlobClient($"{Prefix}/kept/files/run_state.json").DownloadContentAsync()).Value.Content.ToString())!;
            if (done(state) || DateTime.UtcNow > deadline)
            {
                return state;
            }

            await Task.Delay(200);
        }
    }

    private static async Task<List<string>> Names(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, CancellationToken.None))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
