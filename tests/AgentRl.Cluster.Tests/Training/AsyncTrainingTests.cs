using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// Asynchronous training (<c>mode async</c>, AReaL's bounded staleness) through real grains: η = 0 is the synchronous run,
/// a two-silo ARPO run keeps every trained token within η and trains each group once, and a stopped async run resumes
/// with the groups that were in flight generated again and none trained twice.
/// </summary>
public sealed class AsyncTrainingTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-async-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AsyncWithEtaZero_IsTheSynchronousRun()
    {
        var config = ToyRuns.Config(_runDir, steps: 3, warmStart: true) with { Seed = 5 };
        var sync = await RunToEndAsync("sync", config);
        var eager = await RunToEndAsync("async0", config with { Mode = RunConfig.Modes.Async, MaxStaleness = 0 });

        var (syncRows, asyncRows) = (MetricsCsvWriter.Read(Path.Combine(sync, MetricsCsvWriter.FileName)), MetricsCsvWriter.Read(Path.Combine(eager, MetricsCsvWriter.FileName)));
        Assert.Equal(syncRows.Select(r => r.Step), asyncRows.Select(r => r.Step));
        Assert.Equal([0L, 1L, 2L, 3L], syncRows.Select(r => r.Step));
        foreach (var (s, a) in syncRows.Zip(asyncRows))
        {
            var shared = s.Values.Where(p => !p.Key.StartsWith("async/", StringComparison.Ordinal)).ToDictionary();
            Assert.Equal(shared, a.Values.Where(p => !p.Key.StartsWith("async/", StringComparison.Ordinal)).ToDictionary());
        }

        Assert.Contains(asyncRows, r => r.Values.ContainsKey("async/in_flight"));
        Assert.Equal(
            TrainedGroupsLog.Read(Path.Combine(sync, TrainedGroupsLog.FileName)).Select(g => g.Episode.Replace("sync/", "", StringComparison.Ordinal)),
            TrainedGroupsLog.Read(Path.Combine(eager, TrainedGroupsLog.FileName)).Select(g => g.Episode.Replace("async0/", "", StringComparison.Ordinal)));
        Assert.Equal(RunDiff.Sha256(Path.Combine(sync, "trainer", "model", "model.safetensors")), RunDiff.Sha256(Path.Combine(eager, "trainer", "model", "model.safetensors")));
    }

    [Fact]
    public async Task TwoSiloAsyncArpoWithDecoupledPpo_TrainsEveryGroupOnce_WithNoTokenStalerThanEta()
    {
        const int eta = 1;
        // AReaL's decoupled loss with π_prox from the tokens' versions, on ARPO's rollout trees.
        var config = ToyRuns.Config(_runDir, steps: 4) with
        {
            Algorithm = "arpo",
            GroupSize = 3,
            Mode = RunConfig.Modes.Async,
            MaxStaleness = eta,
            Seed = 3,
            Objective = new() { ["policyLoss"] = "decoupled-ppo", ["proxLogprobs"] = "loglinear" },
        };
        var directory = await RunToEndAsync("arpo-async", config, silos: 2);

        var rows = MetricsCsvWriter.Read(Path.Combine(directory, MetricsCsvWriter.FileName)).Where(r => r.Step > 0).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], rows.Select(r => r.Step));
        Assert.All(rows, r => Assert.InRange(r.Values["staleness/max"], 0, eta));
        Assert.All(rows, r => Assert.InRange(r.Values["loss/behav_weight_mean"], 0, 5));
        // With η = 1 the first batch leaves the next step's groups admitted: in flight or finished and waiting.
        Assert.True(rows[0].Values["async/in_flight"] + rows[0].Values["async/waiting"] > 0, "nothing of step 2 was admitted while step 1 trained: the run was not asynchronous");

        var groups = TrainedGroupsLog.Read(Path.Combine(directory, TrainedGroupsLog.FileName));
        Assert.Equal(4 * config.PromptsPerStep, groups.Count);
        Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct().Count());
        var versions = rows.ToDictionary(r => r.Step, r => r.Values[MetricColumns.ToColumn(MetricColumns.PolicyVersion)]);
        Assert.All(groups, g => Assert.True(versions[g.Step] - 1 - g.OldestVersion <= eta, $"{g.Episode} trained at step {g.Step} has a token of version {g.OldestVersion}, trainer at {versions[g.Step] - 1}"));
    }

    [Fact]
    public async Task StoppedAsyncRun_Resumes_RegeneratingWhatWasInFlight_AndTrainsNoGroupTwice()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("async-resume");
        var config = ToyRuns.Config(_runDir, steps: 4, warmStart: true) with { Mode = RunConfig.Modes.Async, MaxStaleness = 2 };
        await run.StartAsync(config);
        await RunWaits.UntilAsync(run, s => s.State == RunState.Training || s.IsFinished);
        await run.StopAsync();
        var stopped = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(stopped.State == RunState.Stopped, $"{stopped.State}: {stopped.Error}");
        var directory = Path.Combine(_runDir, "async-resume");
        var before = RunStateFile.Read(directory)!;
        var stream = before.Async ?? throw new InvalidOperationException("run_state.json of an async run holds no stream state");
        Assert.Equal((long)before.Step * config.PromptsPerStep, stream.ConsumedFrontier + stream.ConsumedAbove.Count);
        var inFlightAtStop = stream.NextSlot - stream.ConsumedFrontier - stream.ConsumedAbove.Count;

        await run.StartAsync(config with { Resume = true });
        var resumed = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(resumed.State == RunState.Completed, $"{resumed.State}: {resumed.Error}");

        var rows = MetricsCsvWriter.Read(Path.Combine(directory, MetricsCsvWriter.FileName));
        Assert.Equal([0L, 1L, 2L, 3L, 4L], rows.Select(r => r.Step));
        Assert.Equal(inFlightAtStop, (long)rows.Where(r => r.Step > before.Step).Sum(r => r.Values["async/restarted"]));
        var groups = TrainedGroupsLog.Read(Path.Combine(directory, TrainedGroupsLog.FileName));
        Assert.Equal(4 * config.PromptsPerStep, groups.Count);
        Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct().Count());
        var end = RunStateFile.Read(directory)!.Async!;
        Assert.Equal((4L * config.PromptsPerStep, 0, 4L * config.PromptsPerStep), (end.ConsumedFrontier, end.ConsumedAbove.Count, end.NextSlot));

        // The trainer's optimizer step count is the sum of every step's, across the stop: each step counted once.
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "trainer", TrainerState.StateFileName)));
        Assert.Equal(rows.Skip(1).Sum(r => r.Values[MetricColumns.ToColumn("actor/optimizer_steps")]), state.RootElement.GetProperty("rl_optimizer_steps").GetInt64());
    }

    /// <summary>
    /// APRIL in sync mode: ⌈2·B⌉ groups started, the step trains on the first B to finish and carries the rest over, to be
    /// taken first next step; with maskOffPolicyInPartial only the tokens of the current version are trained.
    /// </summary>
    [Fact]
    public async Task SyncWithOverSampling_CarriesUnfinishedGroupsOver_AndTrainsEachGroupOnce()
    {
        var config = ToyRuns.Config(_runDir, steps: 4) with { OverSampling = 2.0, MaskOffPolicyInPartial = true, Seed = 4 };
        var directory = await RunToEndAsync("april", config);

        var rows = MetricsCsvWriter.Read(Path.Combine(directory, MetricsCsvWriter.FileName)).Where(r => r.Step > 0).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], rows.Select(r => r.Step));
        Assert.Equal(config.PromptsPerStep, rows[0].Values["async/parked"]);   // 2·B started, B trained: B carried over
        Assert.All(rows, r => Assert.True(r.Values.ContainsKey("async/masked_tokens")));
        Assert.All(rows, r => Assert.InRange(r.Values["staleness/max"], 0, 0));   // masked: only current-version tokens trained
        // Step 1's carried-over groups are due by step 1 + η (maxStaleness 2): later steps take them, as resumed groups.
        Assert.True(rows.Sum(r => r.Values["async/resumed"]) >= config.PromptsPerStep, "the groups carried over from step 1 were never trained");
        var groups = TrainedGroupsLog.Read(Path.Combine(directory, TrainedGroupsLog.FileName));
        Assert.Equal(4 * config.PromptsPerStep, groups.Count);
        Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct().Count());
    }

    private async Task<string> RunToEndAsync(string name, RunConfig config, int silos = 1)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(silos);
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(name);
        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 8);
        Assert.True(status.State == RunState.Completed, $"{name}: {status.State}: {status.Error}");
        return Path.Combine(_runDir, name);
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
