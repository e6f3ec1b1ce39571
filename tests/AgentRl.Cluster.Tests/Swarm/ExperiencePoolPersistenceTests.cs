using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Swarm;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks;
using Orleans.Configuration;

namespace AgentRl.Cluster.Tests.Swarm;

/// <summary>
/// A pool on a two-silo cluster whose grain storage is a real Redis: every acknowledged group is still there after the
/// silo hosting its shard is killed, and a refused publish leaves the shard unchanged across the cluster.
/// </summary>
public sealed class ExperiencePoolPersistenceTests
{
    [Fact]
    public async Task KilledShardSilo_EveryAcknowledgedGroupIsServedByTheSurvivor()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            2,
            configureBuilder: silo => silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 1;
                o.NumVotesForDeathDeclaration = 1;
            }),
            configureState: silo =>
            {
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
                silo.UseInMemoryReminderService();
            });
        var items = TaskRegistry.CreateDefault().Create("arithmetic").Generate(TaskSplit.Train, 40, seed: 5);
        var groups = items.Select((item, i) => Group(item, i)).ToList();
        var shards = groups.GroupBy(g => PoolShards.Of(g.Task, g.ItemJson, 4)).ToDictionary(g => g.Key, g => g.ToList());
        var acknowledged = 0;
        foreach (var (shard, members) in shards)
        {
            // Several publishes per shard: each is acknowledged only once written.
            foreach (var chunk in members.Chunk(3))
            {
                acknowledged += (await cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("p", shard)).PublishAsync(chunk)).Accepted;
            }
        }

        Assert.Equal(40, acknowledged);
        var before = await Task.WhenAll(shards.Keys.Select(s => cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("p", s)).GetStatusAsync()));
        var victimAddress = before.GroupBy(s => s.Silo).OrderByDescending(g => g.Sum(s => s.Size)).First().Key;
        var victim = cluster.Cluster.Silos.Single(s => s.SiloAddress.ToString() == victimAddress);
        var survivor = cluster.Cluster.Silos.Single(s => s != victim);
        Assert.Contains(before, s => s.Silo == victimAddress && s.Size > 0);

        await cluster.Cluster.KillSiloAsync(victim);

        var after = await RetryAsync(() => Task.WhenAll(shards.Keys.Select(s => cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("p", s)).GetStatusAsync())));
        Assert.All(after, s => Assert.Equal(survivor.SiloAddress.ToString(), s.Silo));
        Assert.Equal(40, after.Sum(s => s.Size));
        var drawn = new List<SharedGroup>();
        foreach (var shard in shards.Keys)
        {
            drawn.AddRange((await cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("p", shard)).DrawAsync(new PoolDraw(100, "someone-else", "arithmetic", "uniform", 0, 1))).Groups);
        }

        Assert.Equal(groups.Select(g => g.GroupId).Order(), drawn.Select(g => g.GroupId).Order());

        // A refused publish on the survivor changes nothing.
        var first = shards.Keys.First();
        var grain = cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key("p", first));
        await Assert.ThrowsAsync<ArgumentException>(() => grain.PublishAsync([Group(items[0], 99) with { Task = "no-such-task" }]));
        Assert.Equal(shards[first].Count, (await grain.GetStatusAsync()).Size);
    }

    private static SharedGroup Group(TaskItem item, int i) => new()
    {
        Task = "arithmetic",
        ItemJson = TaskCatalog.ToJson(item),
        GroupId = $"g{i}",
        Completions =
        [
            new SharedCompletion { Messages = [ChatMessage.Assistant($"<answer>{item.Answer}</answer>")], ProducerReward = 1 },
            new SharedCompletion { Messages = [ChatMessage.Assistant("<answer>0</answer>")], ProducerReward = 0 },
        ],
        ProducerRunId = i % 2 == 0 ? "run-a" : "run-b",
        PolicyId = "default",
        TokenizerId = "byte-level:test",
        Step = 1,
        ProducedAt = DateTime.UtcNow,
    };

    /// <summary>Calls right after a silo is killed can fail until the cluster has declared it dead.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }
}
