using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Training;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Policy.Checkpoints;
using Azure.Storage.Blobs;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// A cluster with no shared volume: two silo processes, each in its own working directory (so the relative run directory
/// <c>runs</c> is a different disk for each), Redis for membership, grain state and reminders, and Azurite for the run
/// store. The silo running the run is killed mid-run; the run finishes on the other silo, whose disk never held it.
/// </summary>
public sealed class NoSharedDiskFailoverTests : IDisposable
{
    private const string Container = "agentrl-cluster";
    private const string Prefix = "runs";
    private readonly string _root = Directory.CreateTempSubdirectory("agentrl-noshared-").FullName;

    [Fact]
    public async Task KilledRunSilo_RunContinuesOnASiloWithItsOwnEmptyDisk_FromTheBlobRunStore()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var azurite = await AzuriteServer.StartAsync();
        var clusterId = "noshared-" + Guid.NewGuid().ToString("N")[..8];
        var ports = new[] { Processes.FreeTcpPort(), Processes.FreeTcpPort() };
        string[] Store() =>
        [
            "--AgentRl:RunStore:Kind", "azure-blob",
            "--AgentRl:RunStore:Container", Container,
            "--AgentRl:RunStore:Prefix", Prefix,
            "--AgentRl:Checkpoints:ConnectionString", azurite.ConnectionString,
        ];
        var disks = ports.Select(p => Directory.CreateDirectory(Path.Combine(_root, $"silo-{p}")).FullName).ToArray();
        var silos = new List<OwnedProcess>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                silos.Add(Processes.StartSilo(redis, clusterId, "rollout,tools,trainer", "cpu", disks[i], ports[i], Store()));
            }

            // The silo processes may take more than the default 5 retries to register a gateway on a loaded machine.
            await using var client = await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = $"redis://{redis.Address}", ClusterId = clusterId, ConnectRetries = 60 });
            await WaitAsync(async () => (await client.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync()).Count(s => s.Status == "Active") == 2, TimeSpan.FromMinutes(1), "two active silos", silos);

            const int steps = 6;
            await client.StartRunAsync(ToyRuns.Config("runs", steps, warmStart: true) with   // relative run dir: each silo's own disk
            {
                RunId = "far",
                CheckpointStore = $"azure-blob://{Container}/{Prefix}",
                RunStore = "azure-blob",
            });

            var container = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions(AzureBlobCheckpointStore.PinnedServiceVersion)).GetBlobContainerClient(Container);
            var stateBlob = container.GetBlobClient($"{Prefix}/far/files/{RunStateFile.FileName}");
            await WaitAsync(async () => await stateBlob.ExistsAsync() && RunStateFile.Parse((await stateBlob.DownloadContentAsync()).Value.Content.ToString()) is { Step: >= 1 }, TimeSpan.FromMinutes(4), "step 1 in the run store", silos);

            var status = await client.GetStatusAsync("far");
            var silo = status.Silo ?? "";
            var doomed = Array.FindIndex(ports, p => silo.Contains($":{p}@", StringComparison.Ordinal) || silo.Contains($":{p}:", StringComparison.Ordinal));
            Assert.True(doomed >= 0, $"run hosted on '{status.Silo}', not one of {string.Join(", ", ports)}");
            var survivor = 1 - doomed;
            var survivorRun = Path.Combine(disks[survivor], "runs", "far");
            Assert.False(File.Exists(Path.Combine(survivorRun, RunStateFile.FileName)), "the survivor's disk never held the run's files");
            silos[doomed].Process.Kill(entireProcessTree: true);

            // What the store held when the silo died: the checkpointed step and its wall-clock rows, which a run that
            // started over (rather than continued) would write anew with other timings.
            var checkpointed = RunStateFile.Parse((await stateBlob.DownloadContentAsync()).Value.Content.ToString())!.Step;
            var timingsAtKill = (await container.GetBlobClient($"{Prefix}/far/files/timings.csv").DownloadContentAsync()).Value.Content.ToString()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(checkpointed + 2).ToList();   // header and steps 0..checkpointed

            // Calls reach the run on the survivor once the cluster has declared the killed silo dead (or the reminder ticks).
            RunStatus? final = null;
            await WaitAsync(async () =>
            {
                try
                {
                    final = await client.GetStatusAsync("far");
                    return final.IsFinished;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromMinutes(5), "the run to finish on the survivor", silos);

            Assert.True(final!.State == RunState.Completed, $"{final.State}: {final.Error}\n{silos[survivor].Output}");
            Assert.Equal(steps, final.Step);
            Assert.Contains($":{ports[survivor]}", final.Silo, StringComparison.Ordinal);
            Assert.True(final.Recoveries >= 1);

            // The survivor's disk now holds the run, pulled from the store and continued: each step once, in order.
            var rows = MetricsCsvWriter.Read(Path.Combine(survivorRun, "metrics.csv"));
            Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), rows.Select(r => r.Step));
            var timings = File.ReadAllLines(Path.Combine(survivorRun, "timings.csv"));
            // Continued after step `checkpointed`, not started over: its earlier rows are the ones the store held (a resumed
            // run may add columns at the end).
            Assert.StartsWith(timingsAtKill[0], timings[0], StringComparison.Ordinal);
            Assert.Equal(timingsAtKill.Skip(1).Select(l => l.TrimEnd(',')), timings.Skip(1).Take(timingsAtKill.Count - 1).Select(l => l.TrimEnd(',')));
            Assert.True(Directory.Exists(Path.Combine(survivorRun, "trainer-restore")), "the trainer state came from the store");

            // A client reading through the cluster sees the same, whichever silo serves it.
            var metrics = await client.GetMetricsAsync("far");
            Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), metrics.Select(m => m.Step));
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> done, TimeSpan timeout, string what, IReadOnlyList<OwnedProcess> silos)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no {what} within {timeout}; silo output:\n" + string.Join("\n----\n", silos.Select(s => s.Output[Math.Max(0, s.Output.Length - 4000)..])));
            }

            await Task.Delay(500);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
