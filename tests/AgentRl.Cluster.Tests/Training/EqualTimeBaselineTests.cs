using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Training.Phases;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// <c>baseline: sft-equal-time</c>: after the last RL step the warm start trains on for the RL steps' measured wall time,
/// is evaluated on the same held-out items, and the trainer goes back to the RL weights.
/// </summary>
public sealed class EqualTimeBaselineTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-baseline-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Baseline_TrainsForTheRlStepsWallTime_ThenTheTrainerServesTheRlWeightsAgain()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var config = ToyRuns.Config(_runDir, steps: 3, warmStart: true) with { SftDemonstrations = 32, Baseline = RunConfig.Baselines.SftEqualTime, EvalSize = 4 };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("baseline-run");

        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 10);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var dir = Path.Combine(_runDir, "baseline-run");
        var baseline = status.Baseline;
        Assert.NotNull(baseline);
        Assert.True(baseline.State == RunState.Completed, $"{baseline.State}: {baseline.Error}");

        // The RL seconds are the steps' phases but Evaluate, as timings.csv has them.
        var timings = MetricsCsvWriter.Read(Path.Combine(dir, RunArtifacts.TimingsFileName)).Where(r => r.Step > 0).ToList();
        Assert.Equal(3, timings.Count);
        var rlSeconds = timings.Sum(r => r.Values.Where(kv => kv.Key.StartsWith("perf/phase/", StringComparison.Ordinal) && !kv.Key.Contains("Evaluate", StringComparison.Ordinal)).Sum(kv => kv.Value));
        Assert.Equal(rlSeconds, baseline.RlSeconds, 6);
        Assert.True(rlSeconds > 0);

        // It trained until the budget was spent, in SFT steps it recorded: not stopped early, not far past one more step.
        Assert.True(baseline.SftSteps >= 1, $"{baseline.SftSteps} SFT steps");
        Assert.Equal(baseline.SftSteps, (int)baseline.Metrics["sft/steps"]);
        Assert.True(baseline.SftSeconds >= rlSeconds, $"SFT {baseline.SftSeconds:0.000} s for RL's {rlSeconds:0.000} s");
        var perStep = baseline.SftSeconds / baseline.SftSteps;
        Assert.True(baseline.SftSeconds <= rlSeconds + (3 * perStep) + 2, $"SFT {baseline.SftSeconds:0.000} s ({baseline.SftSteps} steps) for RL's {rlSeconds:0.000} s");
        Assert.True(baseline.PlannedSteps >= 1);
        Assert.NotNull(baseline.EvalAccuracy);
        Assert.Equal(status.FinalEvalAccuracy, baseline.RlEvalAccuracy);
        Assert.Equal(status.WarmStartEvalAccuracy, baseline.WarmStartEvalAccuracy);

        // The same result in baseline.json and run_state.json.
        var file = JsonSerializer.Deserialize<BaselineResult>(await File.ReadAllTextAsync(Path.Combine(dir, BaselineResult.FileName)), RunJson.Options)!;
        Assert.Equal(baseline.SftSteps, file.SftSteps);
        Assert.Equal(baseline.EvalAccuracy, RunStateFile.Read(dir)!.Baseline!.EvalAccuracy);
        Assert.True(Directory.Exists(Path.Combine(dir, RunStateFile.WarmStartDirectoryName)));

        // The policy served after the run is the RL one: its newest checkpoint holds the weights of the last step's.
        var state = RunStateFile.Read(dir)!;
        var lastStep = state.Checkpoints.Single(c => c.Step == 3);
        var checkpoints = Path.Combine(dir, "checkpoints");
        var newest = Directory.GetDirectories(checkpoints).Order(StringComparer.Ordinal).Last();
        Assert.NotEqual(Path.Combine(checkpoints, $"v{lastStep.Version:D6}"), newest);
        Assert.Equal(
            RunDiff.Sha256(Path.Combine(checkpoints, $"v{lastStep.Version:D6}", "model.safetensors")),
            RunDiff.Sha256(Path.Combine(newest, "model.safetensors")));
        Assert.True(status.PolicyVersion > lastStep.Version);
    }

    [Fact]
    public void Spec_PlansTheStepsThatFit_OnFreshDemonstrationsInTheWarmStartsProportions()
    {
        var config = new RunConfig { SftDemonstrations = 12800, SftEchoExamples = 12800, SftBatchSize = 16, Seed = 3 };

        var spec = BaselinePhase.Spec(config, seconds: 40, plannedSteps: 200);

        Assert.Equal(40, spec.TimeBudgetSeconds);
        Assert.Equal(200, spec.PlannedSteps);
        Assert.Equal(1600, spec.Demonstrations);
        Assert.Equal(1600, spec.EchoExamples);
        Assert.NotEqual(WarmStartPhase.Spec(config).Seed, spec.Seed);
        Assert.Equal(0, spec.FlawPhaseDemonstrations);
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
