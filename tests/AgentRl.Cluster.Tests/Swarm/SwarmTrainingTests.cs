using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Swarm;

/// <summary>
/// Swarm members on a two-silo cluster: each its own run grain, trainer and policy id, one pool. They train on each
/// other's groups, and a member that fails does not stop the others.
/// </summary>
public sealed class SwarmTrainingTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-swarm-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task TwoMembersOnTwoSilos_TrainWithExternalGroups_AndAFailingMemberDoesNotStopThem()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (_, o) =>
        {
            o.Roles = "rollout,tools,trainer";
            o.AllowCpuTrainer = true;
        });
        var swarm = new SwarmSettings { Pool = "test-swarm", Local = 2, External = 2, Share = "all", Select = "uniform", MaxAgeSteps = 4 };
        RunConfig Member(string id, string policy) => new()
        {
            RunId = id,
            PolicyId = policy,
            Steps = 3,
            GroupSize = 2,
            SftDemonstrations = 0,
            EvalSize = 2,
            EvalEvery = 100,
            PassK = 0,
            RunDir = _runDir,
            Seed = id[^1],   // distinct per member: equal seeds make equal groups, which the pool stores once
            Swarm = swarm,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 384),
        };
        var members = new[] { Member("m0", "m0"), Member("m1", "m1"), Member("broken", "dir:" + Path.Combine(_runDir, "no-such-model")) };

        await Task.WhenAll(members.Select(m => cluster.Client.GetGrain<ITrainingRunGrain>(m.RunId).StartAsync(m)));
        var statuses = await Task.WhenAll(members.Select(m => RunWaits.UntilAsync(cluster.Client.GetGrain<ITrainingRunGrain>(m.RunId), s => s.IsFinished)));

        Assert.Equal(RunState.Failed, statuses[2].State);
        // Which member draws the other's groups first depends on timing (a member never waits for the pool), but the later
        // of the two always finds the earlier one's: the swarm as a whole trains on external groups.
        var external = 0.0;
        foreach (var (member, status) in members.Zip(statuses).Take(2))
        {
            Assert.True(status.State == RunState.Completed, $"{member.RunId}: {status.State} {status.Error}");
            var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, member.RunId, "metrics.csv")).Where(r => r.Step > 0).ToList();
            Assert.Equal(3, rows.Count);
            Assert.All(rows, r => Assert.Equal(4, r.Values["swarm/local_groups"] + r.Values["swarm/external_groups"]));
            external += rows.Sum(r => r.Values["swarm/external_groups"]);
            Assert.All(rows, r => Assert.True(r.Values["swarm/published_groups"] >= 0 && r.Values.ContainsKey("swarm/uncorrected_tokens")));
            var timings = MetricsCsvWriter.Read(Path.Combine(_runDir, member.RunId, RunArtifacts.TimingsFileName)).Where(r => r.Step > 0).ToList();
            Assert.All(timings, r => Assert.True(r.Values.ContainsKey("swarm/draw_ms") && r.Values.ContainsKey("swarm/publish_ms")));   // wall clock: timings.csv
            Assert.Equal(3, timings.Count);
            Assert.All(rows, r => Assert.Equal(8, r.Values["train/examples"]));   // (I + J) groups × 2 rollouts

            // groups.csv lists every group a step trained: own, fill-up and external ones (as pool:{producer}/{group}).
            var groups = TrainedGroupsLog.Read(Path.Combine(_runDir, member.RunId, TrainedGroupsLog.FileName));
            Assert.All(rows, r => Assert.Equal(4, groups.Count(g => g.Step == r.Step)));
            Assert.All(rows, r => Assert.Equal(r.Values["swarm/external_groups"], groups.Count(g => g.Step == r.Step && g.Episode.StartsWith("pool:", StringComparison.Ordinal))));
            Assert.Equal(groups.Count, groups.Select(g => (g.Step, g.Episode)).Distinct().Count());
        }

        Assert.True(external > 0, "no member trained on another member's groups");
        var status0 = await Task.WhenAll(Enumerable.Range(0, swarm.Shards).Select(s => cluster.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key(swarm.Pool, s)).GetStatusAsync()));
        var producers = status0.SelectMany(s => s.Producers.Keys).ToHashSet();
        Assert.Equal(["m0", "m1"], producers.Order());
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
