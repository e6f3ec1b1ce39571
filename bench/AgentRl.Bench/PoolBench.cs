using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Swarm;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Tasks;
using AgentRl.Pipeline.Swarm;
using AgentRl.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace AgentRl.Bench;

/// <summary>
/// <c>agentrl-bench pool</c>: an experience pool on an in-process cluster of 1 or more silos (grain storage in memory, as
/// on the embedded silo): publishes <c>--groups</c> shared groups of <c>--completions</c> arithmetic completions each,
/// <c>--batch</c> groups per step split by shard as the Pool phase does, then times <c>--draws</c> draws of
/// <c>--external</c> groups (one call per shard, then the merge). Reports publish and draw latency (median and p95 per
/// step), throughput, and the managed memory the pool holds (a full GC before and after, the groups built on the fly so
/// the bench holds none).
/// <para>
/// <c>--storage redis</c> keeps the shards in Redis grain storage, as a cluster does: the bench starts a <c>redis-server</c> on
/// a free 127.0.0.1 port with an append-only file synced on every write (so an acknowledged publish is on disk), or uses
/// <c>--redis HOST:PORT</c>, and also reports Redis' own memory.
/// </para>
/// </summary>
public static class PoolBench
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var silos = Int("silos", 1);
        var groups = Int("groups", 10_000);
        var shards = Int("shards", 8);
        var capacity = Int("capacity", 4096);
        var batch = Int("batch", 64);
        var completions = Int("completions", 8);
        var draws = Int("draws", 200);
        var external = Int("external", 4);
        var storage = options.GetValueOrDefault("storage", "memory");
        if (storage is not ("memory" or "redis"))
        {
            Console.Error.WriteLine($"agentrl-bench pool: --storage is memory or redis, not '{storage}'");
            return 2;
        }

        await using var redis = storage == "redis" ? await BenchRedis.StartAsync(options.GetValueOrDefault("redis")) : null;

        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgentRl(o =>
            {
                o.Accelerator = "cpu";
                o.TorchThreads = 1;
            });
            if (redis is null)
            {
                silo.AddAgentRlInMemoryState();
            }
            else
            {
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
                silo.UseInMemoryReminderService();
            }

            silo.Services.Configure<PoolLimits>(l =>
            {
                l.ShardCapacity = capacity;
                l.MaxAge = TimeSpan.FromDays(1);
            });
        });
        builder.ConfigureClient(client => client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10)));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var client = cluster.Client;

        var items = TaskRegistry.CreateDefault().Create("arithmetic").Generate(TaskSplit.Train, Math.Min(groups, 10_000), seed: 1).Select(i => (Item: i, Json: TaskCatalog.ToJson(i))).ToList();
        SharedGroup Group(int i)
        {
            var (item, json) = items[i % items.Count];
            var expression = item.RequireMetadata("expression");
            return new SharedGroup
            {
                Task = "arithmetic",
                ItemJson = json,
                GroupId = $"bench/{i}",
                Completions = [.. Enumerable.Range(0, completions).Select(c => new SharedCompletion
                {
                    Messages =
                    [
                        ChatMessage.Assistant("", new ToolCall("calculator-evaluate", $$"""{"expression": "{{expression}}"}""")),
                        ChatMessage.Tool("calculator-evaluate", item.Answer),
                        ChatMessage.Assistant($"<answer>{(c % 2 == 0 ? item.Answer : (i + c).ToString(CultureInfo.InvariantCulture))}</answer>"),
                    ],
                    ProducerReward = c % 2 == 0 ? 1 : 0.2,
                    BehaviourLogprobs = [.. Enumerable.Range(0, 48).Select(t => -0.01f * (t % 9))],
                    BehaviourTokensHash = "0123456789ABCDEF0123456789ABCDEF",
                })],
                ProducerRunId = $"member{i % 4}",
                PolicyId = "bench",
                PolicyVersion = i / batch,
                TokenizerId = "byte-level:bench",
                Step = i / batch,
                ProducedAt = DateTime.UtcNow,
            };
        }

        IExperiencePoolGrain Shard(int s) => client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("bench", s));

        // The first publishes activate the shards (included: the median hides them); draws have 5 untimed warm-up rounds.
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var publishSteps = new List<double>();
        var total = Stopwatch.StartNew();
        var accepted = 0L;
        for (var first = 0; first < groups; first += batch)
        {
            var step = Enumerable.Range(first, Math.Min(batch, groups - first)).Select(Group).ToList();
            var watch = Stopwatch.StartNew();
            var results = await Task.WhenAll(step.GroupBy(g => PoolShards.Of(g.Task, g.ItemJson, shards)).Select(g => Shard(g.Key).PublishAsync([.. g])));
            publishSteps.Add(watch.Elapsed.TotalMilliseconds);
            accepted += results.Sum(r => r.Accepted);
        }

        var publishSeconds = total.Elapsed.TotalSeconds;
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        var statuses = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => Shard(s).GetStatusAsync()));
        var held = statuses.Sum(s => s.Size);

        var drawSteps = new List<double>();
        var drawn = 0L;
        for (var d = 0; d < draws + 5; d++)
        {
            var watch = Stopwatch.StartNew();
            var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => Shard(s).DrawAsync(new PoolDraw(external, "receiver", "arithmetic", "informative-uniform", 0, (d * 7919) + s))));
            var merged = PoolDrawMerge.Merge(answers, external, "informative-uniform", d);
            if (d >= 5)
            {
                drawSteps.Add(watch.Elapsed.TotalMilliseconds);
                drawn += merged.Count;
            }
        }

        double Percentile(List<double> values, double p) => values.Count == 0 ? 0 : values.Order().ElementAt(Math.Min(values.Count - 1, (int)(p * values.Count)));
        var bytes = Math.Max(0, memoryAfter - memoryBefore);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = "pool",
            ["silos"] = silos,
            ["storage"] = redis is null ? "memory" : $"redis ({redis.Persistence})",
            ["redis_used_memory_mb"] = redis is null ? 0 : Math.Round(await redis.UsedMemoryBytesAsync() / 1e6, 1),
            ["shards"] = shards,
            ["capacity_per_shard"] = capacity,
            ["completions_per_group"] = completions,
            ["published"] = groups,
            ["accepted"] = accepted,
            ["held"] = held,
            ["batch"] = batch,
            ["publish_step_ms_p50"] = Math.Round(Percentile(publishSteps, 0.5), 3),
            ["publish_step_ms_p95"] = Math.Round(Percentile(publishSteps, 0.95), 3),
            ["publish_groups_per_s"] = Math.Round(groups / publishSeconds, 1),
            ["draw_ms_p50"] = Math.Round(Percentile(drawSteps, 0.5), 3),
            ["draw_ms_p95"] = Math.Round(Percentile(drawSteps, 0.95), 3),
            ["drawn_per_draw"] = draws == 0 ? 0 : Math.Round(drawn / (double)draws, 2),
            ["managed_mb_held"] = Math.Round(bytes / 1e6, 1),
            ["managed_mb_per_10k_groups"] = held == 0 ? 0 : Math.Round(bytes / 1e6 / held * 10_000, 2),
            ["process_working_set_mb"] = Math.Round(Environment.WorkingSet / 1e6, 1),
            ["wall_s"] = Math.Round(total.Elapsed.TotalSeconds, 2),
        }));
        await cluster.StopAllSilosAsync();
        return 0;
    }
}

/// <summary>
/// The Redis of a bench run: a <c>redis-server</c> the bench starts on a free 127.0.0.1 port (append-only file, fsync on every
/// write, in a temporary folder; stopped by its PID when done), or one given by address.
/// </summary>
internal sealed class BenchRedis : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _folder;

    private BenchRedis(string address, string persistence, Process? process, string? folder) =>
        (Address, Persistence, _process, _folder) = (address, persistence, process, folder);

    public string Address { get; }

    public string Persistence { get; }

    public static async Task<BenchRedis> StartAsync(string? address)
    {
        if (address is { Length: > 0 })
        {
            return new BenchRedis(address, "given", null, null);
        }

        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var folder = Directory.CreateTempSubdirectory("agentrl-bench-redis-").FullName;
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", folder })
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server), or pass --redis HOST:PORT", e);
        }

        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        var redis = new BenchRedis($"127.0.0.1:{port}", "aof, fsync always", process, folder);
        for (var deadline = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(100))
        {
            try
            {
                using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Address);
                return redis;
            }
            catch (StackExchange.Redis.RedisConnectionException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }
        }
    }

    /// <summary>Redis' <c>used_memory</c>: what the pool's shards take in Redis.</summary>
    public async Task<long> UsedMemoryBytesAsync()
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Address + ",allowAdmin=true");
        var info = await connection.GetServer(Address).InfoAsync("memory");
        return long.Parse(info.SelectMany(g => g).First(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}

