using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Client;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks;
using Orleans.TestingHost;

namespace AgentRl.Bench;

/// <summary>
/// <c>agentrl-bench load --episodes 10000 --new-tokens 8 [--silos 1 | --cluster redis://HOST:PORT]</c>: that many episode
/// grains at once, each one rollout of an <c>arithmetic</c> item by the seeded tiny preset (random weights: short
/// generations, rarely a tool call), on an in-process cluster of <c>--silos</c> silos or on a running cluster of silo
/// processes. Reports:
/// <list type="bullet">
/// <item>every episode's outcome: finished (by finish reason) or failed, with the failures' reasons counted;</item>
/// <item>memory per episode: the peak resident set of the processes that host the silos (this process, or every
/// <c>AgentRl.Silo.dll</c> process on the machine), less the resident set before, over the episodes;</item>
/// <item>grain-call overhead per episode: the latency the caller saw less the time the episode grain measured inside itself
/// (<see cref="EpisodeResult.ElapsedMs"/>) — messaging, activation, (de)serialisation and queueing for the grain;</item>
/// <item>throughput and latency percentiles.</item>
/// </list>
/// Prints one JSON line.
/// </summary>
public static class LoadBench
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var episodes = Int("episodes", 10_000);
        var newTokens = Int("new-tokens", 8);
        var silos = Int("silos", 1);
        var clusterAddress = options.GetValueOrDefault("cluster");

        InProcessTestCluster? cluster = null;
        AgentRlClient? remote = null;
        IClusterClient client;
        if (clusterAddress is null)
        {
            var builder = new InProcessTestClusterBuilder((short)silos);
            builder.ConfigureSilo((_, silo) =>
            {
                silo.AddAgentRl(o =>
                {
                    o.Accelerator = "cpu";
                    o.TorchThreads = 1;
                });
                silo.AddAgentRlInMemoryState();
            });
            builder.ConfigureClient(c => c.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(30)));
            cluster = builder.Build();
            await cluster.DeployAsync();
            client = cluster.Client;
        }
        else
        {
            remote = await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = clusterAddress, ClusterId = options.GetValueOrDefault("cluster-id", "agentrl"), ConnectRetries = 30 });
            client = remote.Cluster;
        }

        try
        {
            var task = TaskRegistry.CreateDefault().Create("arithmetic");
            var items = task.Generate(TaskSplit.Train, Math.Min(episodes, 5_000), seed: 1).Select(TaskCatalog.ToJson).ToList();
            var limits = new RolloutLimits(MaxTurns: 1, MaxNewTokensPerTurn: newTokens, ContextBudget: 512);

            // One warm-up episode builds the policy, its engine and the task catalogue on every silo it reaches.
            await client.GetGrain<IEpisodeGrain>("load/warmup").RunAsync(new EpisodeSpec("default", "arithmetic", items[0], 1, new SamplingSettings(Temperature: 1.0), limits, Seed: 0));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var rssBefore = ResidentBytes(clusterAddress is not null);
            var peak = rssBefore;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, ResidentBytes(clusterAddress is not null));
                    await Task.Delay(100);
                }
            });

            var outcomes = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            var latencies = new double[episodes];
            var overheads = new double[episodes];
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, episodes).Select(async i =>
            {
                var call = Stopwatch.StartNew();
                try
                {
                    var result = await client.GetGrain<IEpisodeGrain>($"load/{i}").RunAsync(
                        new EpisodeSpec("default", "arithmetic", items[i % items.Count], 1, new SamplingSettings(Temperature: 1.0), limits, Seed: i));
                    latencies[i] = call.Elapsed.TotalMilliseconds;
                    overheads[i] = Math.Max(0, latencies[i] - result.ElapsedMs);
                    var trajectory = result.Trajectories.Single();
                    outcomes.AddOrUpdate(trajectory.Error is null ? $"finished: {trajectory.FinishReason}" : $"failed: {trajectory.Error}", 1, (_, n) => n + 1);
                }
                catch (Exception e)
                {
                    latencies[i] = call.Elapsed.TotalMilliseconds;
                    overheads[i] = double.NaN;
                    outcomes.AddOrUpdate($"failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}", 1, (_, n) => n + 1);
                }
            }));
            watch.Stop();
            await sampling.CancelAsync();
            await sampler;

            var accounted = outcomes.Values.Sum();
            var overhead = overheads.Where(double.IsFinite).Order().ToArray();
            var latency = latencies.Order().ToArray();
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["episodes"] = episodes,
                ["silos"] = clusterAddress is null ? $"{silos} in-process" : $"processes of {clusterAddress}",
                ["new_tokens"] = newTokens,
                ["wall_s"] = Math.Round(watch.Elapsed.TotalSeconds, 1),
                ["episodes_per_s"] = Math.Round(episodes / watch.Elapsed.TotalSeconds, 1),
                ["latency_ms_p50"] = Math.Round(Percentile(latency, 0.5), 1),
                ["latency_ms_p95"] = Math.Round(Percentile(latency, 0.95), 1),
                ["grain_overhead_ms_p50"] = Math.Round(Percentile(overhead, 0.5), 2),
                ["grain_overhead_ms_p95"] = Math.Round(Percentile(overhead, 0.95), 2),
                ["rss_before_mb"] = Math.Round(rssBefore / 1048576.0, 1),
                ["rss_peak_mb"] = Math.Round(peak / 1048576.0, 1),
                ["memory_per_episode_kb"] = Math.Round((peak - rssBefore) / 1024.0 / episodes, 1),
                ["accounted"] = accounted,
                ["outcomes"] = outcomes.OrderByDescending(o => o.Value).ToDictionary(o => o.Key, o => o.Value),
            }));
            return accounted == episodes ? 0 : 1;
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }

            if (remote is not null)
            {
                await remote.DisposeAsync();
            }
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>VmRSS of this process, or of every AgentRl.Silo.dll process on the machine, in bytes.</summary>
    private static long ResidentBytes(bool siloProcesses)
    {
        if (!siloProcesses)
        {
            return Rss("/proc/self/status");
        }

        long total = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")).Contains("AgentRl.Silo.dll", StringComparison.Ordinal))
                {
                    total += Rss(Path.Combine(directory, "status"));
                }
            }
            catch (IOException)
            {
                // The process exited while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return total;
    }

    private static long Rss(string statusPath)
    {
        var line = File.ReadLines(statusPath).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
