using System.Text.Json;
using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.Training;
using Azure.Storage.Blobs;
using Xunit.Abstractions;

namespace AgentRl.Cluster.Tests.Chaos;

/// <summary>
/// Two training runs side by side on a cluster of real processes — three silo processes, each with its own disk, Redis with
/// an append-only file for membership, grain state and reminders, Azurite for checkpoints and the run store — while a
/// seeded schedule kills silos with SIGKILL in given phases of the first (three times, each restarted at once), restarts
/// Redis once and stops Azurite during a checkpoint for a while. The first run is a swarm member that publishes every group
/// to an experience pool (its shards in Redis grain storage); the second trains asynchronously (AReaL, η = 1). Both must
/// complete by themselves with each step recorded once, one update per step, no group trained twice, versions that never
/// go back and a registry that names the newest version; the pool must still hold every group it acknowledged, and the
/// async run's stream counters must account for every trained slot exactly once.
/// <para>
/// The schedule comes from <c>AGENTRL_CHAOS_SEED</c> (default 1, so CI replays one schedule); the seed and every event
/// are printed, so a failing schedule can be replayed. <c>bench/chaos-soak.sh N</c> runs N random seeds.
/// </para>
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output) : IDisposable
{
    private const string Container = "agentrl-chaos";
    private const string Prefix = "runs";
    private const string RunId = "chaos";
    private const string AsyncRunId = "chaos-async";
    private const string Pool = "chaos-pool";
    private const int Steps = 24;
    private static readonly string[] KillPhases = ["Rollout", "Update", "Checkpoint", "Evaluate"];
    private readonly string _root = Directory.CreateTempSubdirectory("agentrl-chaos-").FullName;
    private readonly List<string> _log = [];

    [Fact]
    public async Task SeededSchedule_KillsRedisRestartAndBlobOutage_RunCompletesWithEveryStepOnce()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("AGENTRL_CHAOS_SEED"), out var s) ? s : 1;
        var random = new Random(seed);
        var schedule = Schedule(random);
        Log($"chaos seed {seed} (replay with AGENTRL_CHAOS_SEED={seed}); schedule: {string.Join(", ", schedule)}");

        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        await using var azurite = await AzuriteServer.StartAsync();
        var clusterId = "chaos-" + Guid.NewGuid().ToString("N")[..8];
        string[] store =
        [
            "--AgentRl:RunStore:Kind", "azure-blob",
            "--AgentRl:RunStore:Container", Container,
            "--AgentRl:RunStore:Prefix", Prefix,
            "--AgentRl:Checkpoints:ConnectionString", azurite.ConnectionString,
        ];
        var disks = Enumerable.Range(0, 3).Select(i => Directory.CreateDirectory(Path.Combine(_root, $"disk-{i}")).FullName).ToArray();
        var silos = new OwnedProcess[3];
        var ports = new int[3];
        OwnedProcess Start(int i) => Processes.StartSilo(redis, clusterId, "rollout,tools,trainer", "cpu", disks[i], ports[i] = Processes.FreeTcpPort(), store);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                silos[i] = Start(i);
            }

            await using var client = await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = $"redis://{redis.Address}", ClusterId = clusterId, ConnectRetries = 60 });
            await WaitAsync(async () => (await client.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync()).Count(x => x.Status == "Active") == 3, TimeSpan.FromMinutes(1), "three active silos", silos);
            var config = ToyRuns.Config("runs", Steps, warmStart: true) with
            {
                RunId = RunId,
                EvalEvery = 3,
                CheckpointStore = $"azure-blob://{Container}/{Prefix}",
                RunStore = "azure-blob",
            };
            var swarm = new SwarmSettings { Pool = Pool, Local = 2, External = 1, Share = SwarmSettings.Shares.Everything, MaxAgeSteps = 1_000, Shards = 2 };
            await client.StartRunAsync(config with { Swarm = swarm });
            await client.StartRunAsync(config with { RunId = AsyncRunId, PolicyId = "chaos-async-policy", Seed = 7, Mode = RunConfig.Modes.Async, MaxStaleness = 1, EvalEvery = 4 });

            // Each event waits for a step of progress after the one before, so faults do not pile onto one recovery.
            RunStatus? final = null;
            RunStatus? finalAsync = null;
            var events = new Queue<string>(schedule);
            var progressAt = -1;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(8);
            while (DateTime.UtcNow < deadline)
            {
                var status = await PollAsync(client, RunId);
                if (status is { IsFinished: true } && await PollAsync(client, AsyncRunId) is { IsFinished: true } other)
                {
                    final = status;
                    finalAsync = other;
                    break;
                }

                if (status is not { State: RunState.Training } || events.Count == 0 || status.Step <= progressAt)
                {
                    await Task.Delay(40);
                    continue;
                }

                var next = events.Peek();
                if (next.StartsWith("kill", StringComparison.Ordinal) && status.Phase == next[(next.IndexOf('@') + 1)..])
                {
                    // kill-host@ takes the silo that hosts the run grain, kill@ any silo.
                    var host = Array.FindIndex(ports, p => status.Silo?.Contains($":{p}:", StringComparison.Ordinal) == true);
                    var victim = next.StartsWith("kill-host@", StringComparison.Ordinal) && host >= 0 ? host : random.Next(3);
                    await Task.Delay(random.Next(0, 150));
                    Log($"step {status.Step + 1} {status.Phase}: SIGKILL silo {victim} (port {ports[victim]}, hosting the run: {status.Silo?.Contains($":{ports[victim]}", StringComparison.Ordinal)})");
                    silos[victim].Process.Kill(entireProcessTree: true);
                    await silos[victim].DisposeAsync();
                    silos[victim] = Start(victim);
                }
                else if (next == "redis-restart")
                {
                    Log($"step {status.Step + 1} {status.Phase}: Redis killed and restarted from its append-only file");
                    await redis.RestartAsync();
                }
                else if (next == "blob-outage@Checkpoint" && status.Phase == "Checkpoint")
                {
                    Log($"step {status.Step + 1} Checkpoint: Azurite stopped for 8 s");
                    await azurite.StopAsync();
                    var seen = new HashSet<RunState>();
                    for (var wait = DateTime.UtcNow.AddSeconds(8); DateTime.UtcNow < wait;)
                    {
                        if (await PollAsync(client, RunId) is { } during)
                        {
                            seen.Add(during.State);
                        }

                        await Task.Delay(200);
                    }

                    await azurite.RestartAsync();
                    Log($"Azurite back; the run was {string.Join(", ", seen)} meanwhile");
                }
                else
                {
                    await Task.Delay(20);
                    continue;
                }

                events.Dequeue();
                progressAt = status.Step + 1;
            }

            Assert.True(final is not null, $"the runs did not finish within 8 minutes; events left: {string.Join(", ", events)}\n{Tail(silos)}");
            Log($"finished: {final!.State}, step {final.Step}, version {final.PolicyVersion}, recoveries {final.Recoveries}, on {final.Silo}");
            Log($"async run finished: {finalAsync!.State}, step {finalAsync.Step}, version {finalAsync.PolicyVersion}, recoveries {finalAsync.Recoveries}, on {finalAsync.Silo}");
            Assert.True(final.State == RunState.Completed, $"{final.State}: {final.Error}\n{Tail(silos)}");
            Assert.True(finalAsync.State == RunState.Completed, $"async run {finalAsync.State}: {finalAsync.Error}\n{Tail(silos)}");
            Assert.True(events.Count == 0, $"the run finished before the schedule did: {string.Join(", ", events)} left");

            // The swarm member: every step once, each trained group once (own, fill and external alike).
            var files = await DownloadAsync(azurite, RunId, final.Step);
            var rows = await CheckStepsAsync(client, files, final, config.PolicyId);
            var groups = TrainedGroupsLog.Read(Path.Combine(files, TrainedGroupsLog.FileName));
            string[] columns = ["swarm/local_groups", "swarm/external_groups", "swarm/fill_groups", "swarm/published_groups"];
            Log("swarm member per step (" + string.Join(", ", columns) + "): " + string.Join("; ", rows.Skip(1).Select(r => r.Step + ":" + string.Join("/", columns.Select(c => r.Values.GetValueOrDefault(MetricColumns.ToColumn(c)))))));
            Assert.Equal((int)rows.Skip(1).Sum(r => r.Values[MetricColumns.ToColumn("swarm/local_groups")] + r.Values[MetricColumns.ToColumn("swarm/external_groups")]), groups.Count);
            Assert.Equal(Steps * swarm.GroupsPerStep, groups.Count);
            Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct().Count());

            // The pool (shards in Redis grain storage, wherever their silos went) holds every group it acknowledged: what
            // it accepted is still there or was evicted by its bounds, and it accepted at least what the steps recorded as
            // published (a step redone after a kill publishes the same groups again, which the pool counts as duplicates).
            var shards = await Task.WhenAll(Enumerable.Range(0, swarm.Shards).Select(i => client.Cluster.GetGrain<IExperiencePoolGrain>(PoolShards.Key(Pool, i)).GetStatusAsync()));
            var published = (long)rows.Skip(1).Sum(r => r.Values[MetricColumns.ToColumn("swarm/published_groups")]);
            Log($"pool: {string.Join("; ", shards.Select(x => $"{x.Key} size {x.Size} accepted {x.Accepted} duplicates {x.Duplicates} evicted {x.Evicted} steps {x.MinStep}-{x.MaxStep}"))}; the steps recorded {published} published");
            Assert.Equal(shards.Sum(x => x.Accepted), shards.Sum(x => x.Size + x.Evicted));
            Assert.True(shards.Sum(x => x.Accepted) >= published, $"the pool accepted {shards.Sum(x => x.Accepted)} groups, the steps recorded {published} published");
            // share: all, so every own group but those with a tool call that did not parse; a redone step's groups are the same groups.
            var unshared = (long)rows.Skip(1).Sum(r => r.Values[MetricColumns.ToColumn("swarm/unshared_groups")]);
            Assert.Equal((Steps * swarm.GroupsPerStep) - unshared, shards.Sum(x => x.Accepted));
            var lastShared = rows.Skip(1).Last(r => r.Values[MetricColumns.ToColumn("swarm/unshared_groups")] < swarm.GroupsPerStep).Step;
            Assert.Equal(lastShared, (long)shards.Max(x => x.MaxStep));
            Assert.All(shards.Where(x => x.Size > 0), x => Assert.Equal([RunId], x.Producers.Keys));

            // The async run: every step once, and its stream counters account for each trained slot exactly once.
            var asyncFiles = await DownloadAsync(azurite, AsyncRunId, finalAsync.Step);
            var asyncRows = await CheckStepsAsync(client, asyncFiles, finalAsync, "chaos-async-policy");
            var asyncGroups = TrainedGroupsLog.Read(Path.Combine(asyncFiles, TrainedGroupsLog.FileName));
            Assert.Equal(Steps * config.PromptsPerStep, asyncGroups.Count);
            Assert.Equal(asyncGroups.Count, asyncGroups.Select(g => g.Episode).Distinct().Count());
            var stream = RunStateFile.Read(asyncFiles)?.Async ?? throw new InvalidOperationException("the async run's run_state.json holds no stream state");
            Assert.Equal((long)Steps * config.PromptsPerStep, stream.ConsumedFrontier + stream.ConsumedAbove.Count);
            Assert.True(stream.NextSlot >= stream.ConsumedFrontier + stream.ConsumedAbove.Count, $"next slot {stream.NextSlot} is below the consumed ones");
            Assert.All(asyncRows.Skip(1), r => Assert.InRange(r.Values[MetricColumns.ToColumn("staleness/max")], 0, 1));   // η = 1 held through every recovery
        }
        finally
        {
            foreach (var silo in silos.Where(x => x is not null))
            {
                await silo.DisposeAsync();
            }

            foreach (var line in _log)
            {
                output.WriteLine(line);
            }
        }
    }

    /// <summary>
    /// Three kills in distinct phases (one of them of the silo hosting the run grain), a Redis restart and a blob outage
    /// during a checkpoint, in a seeded order.
    /// </summary>
    private static List<string> Schedule(Random random)
    {
        var hostKill = random.Next(3);
        var events = KillPhases.OrderBy(_ => random.Next()).Take(3).Select((p, i) => i == hostKill ? $"kill-host@{p}" : $"kill@{p}").ToList();
        events.Insert(random.Next(events.Count + 1), "redis-restart");
        events.Insert(random.Next(events.Count + 1), "blob-outage@Checkpoint");
        return events;
    }

    /// <summary>
    /// metrics.csv has each step exactly once, in order; versions never go back; one update per step (none applied twice);
    /// the registry (in Redis grain storage, wherever its silo went) names the newest published version.
    /// </summary>
    private static async Task<IReadOnlyList<MetricsCsvRow>> CheckStepsAsync(AgentRlClient client, string files, RunStatus final, string policyId)
    {
        Assert.Equal(Steps, final.Step);
        var rows = MetricsCsvWriter.Read(Path.Combine(files, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, Steps + 1).Select(i => (long)i), rows.Select(r => r.Step));
        var versions = rows.Skip(1).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);
        var perStep = rows.Skip(1).Sum(r => r.Values.GetValueOrDefault(MetricColumns.ToColumn("actor/optimizer_steps")));
        var counters = JsonSerializer.Deserialize<TrainerCounters>(File.ReadAllText(Path.Combine(files, TrainerState.StateFileName)))!;
        Assert.Equal(Steps, counters.RlSteps);
        Assert.Equal(perStep, counters.RlOptimizerSteps);
        var latest = await client.Cluster.GetGrain<IPolicyRegistryGrain>(policyId).GetLatestAsync();
        Assert.Equal(final.PolicyVersion, latest.Version);
        return rows;
    }

    private static async Task<RunStatus?> PollAsync(AgentRlClient client, string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await client.GetStatusAsync(runId, timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;   // the run's silo was just lost, or Redis is restarting: ask again
        }
    }

    /// <summary>metrics.csv, groups.csv, run_state.json and the last step's trainer_state.json as the run store holds them.</summary>
    private async Task<string> DownloadAsync(AzuriteServer azurite, string runId, int step)
    {
        var target = Directory.CreateDirectory(Path.Combine(_root, "store", runId)).FullName;
        var container = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions(AzureBlobCheckpointStore.PinnedServiceVersion)).GetBlobContainerClient(Container);
        foreach (var (blob, file) in new[]
        {
            ($"{Prefix}/{runId}/files/metrics.csv", "metrics.csv"),
            ($"{Prefix}/{runId}/files/{TrainedGroupsLog.FileName}", TrainedGroupsLog.FileName),
            ($"{Prefix}/{runId}/files/{RunStateFile.FileName}", RunStateFile.FileName),
            ($"{Prefix}/{runId}/trainer/s{step:D6}/{TrainerState.StateFileName}", TrainerState.StateFileName),
        })
        {
            await container.GetBlobClient(blob).DownloadToAsync(Path.Combine(target, file));
        }

        return target;
    }

    private void Log(string line) => _log.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");

    private static string Tail(IEnumerable<OwnedProcess> silos) =>
        string.Join("\n----\n", silos.Where(x => x is not null).Select(x => x.Output[Math.Max(0, x.Output.Length - 3000)..]));

    private static async Task WaitAsync(Func<Task<bool>> done, TimeSpan timeout, string what, IReadOnlyList<OwnedProcess> silos)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no {what} within {timeout}:\n{Tail(silos)}");
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
            // A leftover temp folder is harmless.
        }
    }
}
