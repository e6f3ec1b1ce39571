using AgentRl.Abstractions.Swarm;
using AgentRl.Cli.Commands;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>How <c>agentrl swarm</c> turns its options or a SWARM.json into member runs, and how <c>agentrl pool status</c> reads.</summary>
public sealed class SwarmCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "agentrl-swarmcli-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Plan_MembersOption_GivesMembersWithTheirOwnPolicyAndSeed_OneSharedWarmStart_AndIPlusJ()
    {
        var plan = SwarmCommands.Plan(null, 3, 2, 6, 5, "arithmetic", "s", _dir, ["swarm.offPolicyCorrection=truncated-is"], "shared");

        Assert.Equal(["s-m0", "s-m1", "s-m2"], plan.Members.Select(m => m.RunId));   // run ids are cluster-wide: the swarm's name in them
        Assert.Equal(["s-m0", "s-m1", "s-m2"], plan.Members.Select(m => m.PolicyId));
        Assert.Equal([0, 1, 2], plan.Members.Select(m => m.Seed));
        Assert.All(plan.Members, m => Assert.Equal(Path.Combine(_dir, "s"), m.RunDir));
        Assert.All(plan.Members, m => Assert.Equal((2, 6, 8, "s", "truncated-is", 5), (m.Swarm!.Local, m.Swarm.External, m.GroupsPerStep, m.Swarm.Pool, m.Swarm.OffPolicyCorrection, m.Steps)));
        var warm = Assert.Single(plan.WarmStarts);
        Assert.Equal("s-warmstart0", warm.RunId);
        Assert.True(warm.SftOnly);
        Assert.Null(warm.Swarm);
        Assert.All(plan.Members, m => Assert.Equal(Path.GetFullPath(Path.Combine(_dir, "s", warm.RunId)), m.InitFrom));
        Assert.Empty(SwarmCommands.Plan(null, 2, null, null, null, null, "t", _dir, [], "each").WarmStarts);
    }

    [Fact]
    public void Plan_SwarmFile_MembersAreFragments_HeterogeneousWarmStartsAreNotShared()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "swarm.json");
        File.WriteAllText(file, """
        {
          "name": "het",
          "shared": { "steps": 4, "groupSize": 4 },
          "swarm": { "select": "recent", "maxAgeSteps": 2 },
          "members": [
            { "runId": "big", "sftDemonstrations": 64, "learningRate": 1e-4 },
            { "runId": "small", "sftDemonstrations": 16, "seed": 7 },
            { "runId": "none", "sftDemonstrations": 0 }
          ]
        }
        """);

        var plan = SwarmCommands.Plan(file, null, null, null, null, null, null, _dir, [], "shared");

        Assert.Equal("het", plan.Name);
        Assert.Equal(["big", "small", "none"], plan.Members.Select(m => m.RunId));
        Assert.Equal([1e-4, 2e-4, 2e-4], plan.Members.Select(m => m.LearningRate));
        Assert.All(plan.Members, m => Assert.Equal((4, 4, "recent", 2, "het"), (m.Steps, m.GroupSize, m.Swarm!.Select, m.Swarm.MaxAgeSteps, m.Swarm.Pool)));
        Assert.Equal(2, plan.WarmStarts.Count);
        Assert.Null(plan.Members[2].InitFrom);
        Assert.NotEqual(plan.Members[0].InitFrom, plan.Members[1].InitFrom);
    }

    [Fact]
    public void Plan_BadSwarms_AreRefusedWithClearErrors()
    {
        Directory.CreateDirectory(_dir);
        var sizes = Path.Combine(_dir, "sizes.json");
        File.WriteAllText(sizes, """[{ "runId": "a", "groupSize": 2 }, { "runId": "b", "groupSize": 4 }]""");
        var twins = Path.Combine(_dir, "twins.json");
        File.WriteAllText(twins, """[{ "runId": "a" }, { "runId": "a" }]""");
        var unknown = Path.Combine(_dir, "unknown.json");
        File.WriteAllText(unknown, """[{ "runId": "a", "noSuchField": 1 }]""");

        Assert.Contains("same groupSize", Assert.Throws<ArgumentException>(() => SwarmCommands.Plan(sizes, null, null, null, null, null, "x", _dir, [], "shared")).Message, StringComparison.Ordinal);
        Assert.Contains("must differ: a", Assert.Throws<ArgumentException>(() => SwarmCommands.Plan(twins, null, null, null, null, null, "x", _dir, [], "shared")).Message, StringComparison.Ordinal);
        Assert.Contains("noSuchField", Assert.Throws<FormatException>(() => SwarmCommands.Plan(unknown, null, null, null, null, null, "x", _dir, [], "shared")).Message, StringComparison.Ordinal);
        Assert.Contains("swarm.select", Assert.Throws<ArgumentException>(() => SwarmCommands.Plan(null, 2, null, null, null, null, "x", _dir, ["swarm.select=best"], "shared")).Message, StringComparison.Ordinal);
        Assert.Contains("swarm.local", Assert.Throws<ArgumentException>(() => SwarmCommands.Plan(null, 2, 0, null, null, null, "x", _dir, [], "shared")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PoolTable_ShowsEachShardAndTheProducersOverAll()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        PoolShardStatus[] shards =
        [
            new() { Key = "p/0", Size = 3, Capacity = 512, GroupSize = 8, Producers = new Dictionary<string, int> { ["m0"] = 2, ["m1"] = 1 }, MinStep = 1, MaxStep = 4, Oldest = now.AddSeconds(-90), Newest = now.AddSeconds(-5), Accepted = 5, Duplicates = 1, Evicted = 2, Silo = "S1" },
            new() { Key = "p/1", Capacity = 512 },
        ];

        var table = SwarmCommands.PoolTable("p", shards, now);

        Assert.Contains("pool p: 3 groups in 2 shards", table, StringComparison.Ordinal);
        Assert.Matches(@"p/0\s+3/512\s+8\s+1–4\s+90 s\s+5 s\s+5\s+1\s+2\s+S1", table);
        Assert.Contains("producers: m0 2, m1 1", table, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
