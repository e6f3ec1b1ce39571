using System.Text.Json;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Swarm;

/// <summary>
/// A swarm stopped while its members train and resumed as <c>agentrl swarm --resume NAME</c> does (the plan and run path of
/// <see cref="SwarmCommands"/>): every member completes with each step trained and recorded once, and the pool keeps
/// what was published before the stop.
/// </summary>
public sealed class SwarmStopResumeTests : IDisposable
{
    private const int Steps = 5;
    private const string Name = "resumed";

    /// <summary>A tiny swarm: I = J = 1 group of 2 rollouts per step, no warm start, evaluation at the start and end only.</summary>
    private static readonly string[] Sets =
    [
        "groupSize=2", "sftDemonstrations=0", "evalSize=2", "evalEvery=100", "passK=0", "baseline=none",
        "limits.maxTurns=2", "limits.maxNewTokensPerTurn=16", "swarm.share=all", "swarm.select=uniform",
    ];

    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-swarm-resume-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task StoppedSwarm_ResumesEveryMember_EachStepOnce_AndThePoolKeepsWhatWasPublished()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (_, o) =>
        {
            o.Roles = "rollout,tools,trainer";
            o.AllowCpuTrainer = true;
        });
        var plan = SwarmCommands.Plan(null, 2, 1, 1, Steps, "arithmetic", Name, _runDir, Sets, CompareCommands.SharedWarmStart);
        Assert.Empty(plan.WarmStarts);
        var grains = plan.Members.Select(m => cluster.Client.GetGrain<ITrainingRunGrain>(m.RunId)).ToList();

        // Ctrl+C once both members have trained a step: the command stops every member after its step in flight.
        using var interrupt = new CancellationTokenSource();
        var first = SwarmCommands.RunAsync(cluster.Client, plan, TextWriter.Null, interrupt.Token);
        await Task.WhenAll(grains.Select(g => RunWaits.UntilAsync(g, s => s.MetricsStep >= 1 || s.IsFinished)));
        interrupt.Cancel();
        Assert.Equal(1, await first);
        var stopped = await Task.WhenAll(grains.Select(g => g.GetStatusAsync()));
        Assert.All(stopped, s => Assert.True(s.State == RunState.Stopped && s.Step is >= 1 and < Steps, $"{s.RunId}: {s.State} at step {s.Step} {s.Error}"));
        var before = plan.Members.ToDictionary(m => m.RunId, m => Rows(m.RunId));
        var poolAtStop = await PoolAsync(cluster.Client);

        var resumed = await SwarmCommands.ResumePlanAsync(cluster.Client, _runDir, Name);
        Assert.Equal(["resumed-m0", "resumed-m1"], resumed.Members.Select(m => m.RunId));
        Assert.All(resumed.Members, m => Assert.True(m.Resume));
        Assert.Empty(resumed.WarmStarts);
        var output = new StringWriter();
        Assert.True(await SwarmCommands.RunAsync(cluster.Client, resumed, output, CancellationToken.None) == 0, output.ToString());

        var published = 0.0;
        foreach (var (member, grain) in plan.Members.Zip(grains))
        {
            var status = await grain.GetStatusAsync();
            Assert.True(status.State == RunState.Completed, $"{member.RunId}: {status.State} {status.Error}");
            var directory = Path.Combine(_runDir, Name, member.RunId);

            // Every step once; the rows of the steps before the stop are the ones written then.
            var rows = Rows(member.RunId);
            Assert.Equal(Enumerable.Range(1, Steps).Select(s => (long)s), rows.Select(r => r.Step));
            Assert.Equal(before[member.RunId].Select(r => r.Values), rows.Take(before[member.RunId].Count).Select(r => r.Values));

            // One update per step: the trainer's optimizer step count is the sum of every step's, across the stop.
            using (var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "trainer", TrainerState.StateFileName))))
            {
                Assert.Equal(rows.Sum(r => r.Values[MetricColumns.ToColumn("actor/optimizer_steps")]), state.RootElement.GetProperty("rl_optimizer_steps").GetInt64());
            }

            // groups.csv: every own group trained (the step's local groups and its fill groups), none twice, and the
            // external groups each step trained (pool:{producer}/{group}; one may be drawn again at a later step).
            var all = TrainedGroupsLog.Read(Path.Combine(directory, TrainedGroupsLog.FileName));
            var groups = all.Where(g => !g.Episode.StartsWith("pool:", StringComparison.Ordinal)).ToList();
            Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(rows.Sum(r => r.Values[MetricColumns.ToColumn("swarm/local_groups")]), groups.Count);
            Assert.Equal(rows.Sum(r => r.Values[MetricColumns.ToColumn("swarm/external_groups")]), all.Count - groups.Count);
            published += rows.Sum(r => r.Values[MetricColumns.ToColumn("swarm/published_groups")]);
        }

        // The pool kept what was published before the stop: nothing lost (held or evicted), and at least every group the
        // members' metrics say was stored.
        var pool = await PoolAsync(cluster.Client);
        Assert.All(pool, s => Assert.Equal(s.Accepted, s.Size + s.Evicted));
        Assert.True(pool.Sum(s => s.Accepted) >= published, $"pool accepted {pool.Sum(s => s.Accepted)}, members published {published}");
        Assert.True(poolAtStop.Sum(s => s.Accepted) > 0, "nothing was published before the stop");
        Assert.True(pool.Sum(s => s.Accepted) >= poolAtStop.Sum(s => s.Accepted));
        Assert.Equal(["resumed-m0", "resumed-m1"], pool.SelectMany(s => s.Producers.Keys).Distinct().Order(StringComparer.Ordinal));

        // swarm.csv: one row per (member, step).
        var csv = File.ReadAllLines(Path.Combine(_runDir, Name, SwarmFiles.CsvFileName)).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();
        Assert.Equal(
            plan.Members.SelectMany(m => Enumerable.Range(1, Steps).Select(s => $"{m.RunId}/{s}")),
            csv.Select(c => $"{c[0]}/{c[1]}"));
    }

    [Fact]
    public async Task ResumedSwarm_WithAMemberThatCompletedBefore_ReportsAndKeepsEveryMember()
    {
        // Member "short" completes its 1 step; "long" is stopped on the way to 8; the resume runs "long" only, but
        // swarm.csv, the summary and swarm.json still hold both (they were rewritten with the resumed members alone).
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        Directory.CreateDirectory(_runDir);
        var file = Path.Combine(_runDir, "two.json");
        File.WriteAllText(file, """{ "name": "mixed", "members": [ { "runId": "mixed-short", "steps": 1 }, { "runId": "mixed-long", "steps": 8, "seed": 1 } ] }""");
        var plan = SwarmCommands.Plan(file, null, 1, 1, null, "arithmetic", null, _runDir, Sets, CompareCommands.SharedWarmStart);
        var (shortRun, longRun) = (cluster.Client.GetGrain<ITrainingRunGrain>("mixed-short"), cluster.Client.GetGrain<ITrainingRunGrain>("mixed-long"));

        using var interrupt = new CancellationTokenSource();
        var first = SwarmCommands.RunAsync(cluster.Client, plan, TextWriter.Null, interrupt.Token);
        Assert.Equal(RunState.Completed, (await RunWaits.UntilAsync(shortRun, s => s.IsFinished)).State);
        await RunWaits.UntilAsync(longRun, s => s.MetricsStep >= 1 || s.IsFinished);
        interrupt.Cancel();
        Assert.Equal(1, await first);
        Assert.Equal(RunState.Stopped, (await longRun.GetStatusAsync()).State);

        var resumed = await SwarmCommands.ResumePlanAsync(cluster.Client, _runDir, "mixed");
        Assert.Equal(["mixed-long"], resumed.Members.Select(m => m.RunId));
        Assert.Equal(["mixed-short"], resumed.Completed!.Select(m => m.RunId));
        var output = new StringWriter();
        Assert.True(await SwarmCommands.RunAsync(cluster.Client, resumed, output, CancellationToken.None) == 0, output.ToString());

        var csv = File.ReadAllLines(Path.Combine(_runDir, "mixed", SwarmFiles.CsvFileName)).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')[0] + "/" + l.Split(',')[1]).ToList();
        Assert.Equal(["mixed-short/1", .. Enumerable.Range(1, 8).Select(s => $"mixed-long/{s}")], csv);
        Assert.Contains("mixed-short Completed", output.ToString(), StringComparison.Ordinal);
        var definition = JsonDocument.Parse(File.ReadAllText(Path.Combine(_runDir, "mixed", SwarmFiles.DefinitionFileName)));
        Assert.Equal(["mixed-short", "mixed-long"], definition.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("runId").GetString()));
    }

    private List<MetricsCsvRow> Rows(string member) =>
        [.. MetricsCsvWriter.Read(Path.Combine(_runDir, Name, member, MetricsCsvWriter.FileName)).Where(r => r.Step > 0)];

    private static async Task<PoolShardStatus[]> PoolAsync(IClusterClient client) =>
        await Task.WhenAll(Enumerable.Range(0, new SwarmSettings().Shards).Select(s => client.GetGrain<IExperiencePoolGrain>(PoolShards.Key(Name, s)).GetStatusAsync()));

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
