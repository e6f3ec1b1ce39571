using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// The main job's setting at small scale, for three seeds: a warm start on 3,200 demonstrations (200 SFT steps, no echo
/// examples) of the arithmetic task's imperfect teacher, which answers 70 % of its questions from memory instead of
/// calling the calculator (<c>teacherMentalOperators</c>: here every operator, so that the habit forms in 200 steps; the
/// main job's teacher has only + and −), then 12 GRPO steps rewarded on a valid calculator call (<c>taskOptions</c>: tool
/// use 1, correctness 0, format 0: copying the expression and result, which correctness needs, takes a thousand steps).
/// The run's equal-time baseline (<c>baseline: sft-equal-time</c>) trains the warm start on with SFT for the RL steps'
/// wall time. RL's held-out reward must beat the baseline's by more than 4 standard errors of the difference (pooled
/// over both evaluations of 64 items, as a two-sample test under the hypothesis of no difference).
/// </summary>
/// <remarks>
/// Sized across seeds, not tuned on one (7 Dec 2026, this test): held-out reward after RL 1.000, 0.984, 1.000 against
/// 0.000 for the equal-time baseline (seeds 1–3; RL steps 22–25 s, baseline 95–122 SFT steps), 11 standard errors. With
/// only + and − in the teacher's blind spot the 200-step warm start had not yet learned when to skip: its baseline
/// called the calculator on 69–100 % of the items, and seed 2's beat RL.
/// </remarks>
public sealed class RewardImprovesTests : IDisposable
{
    private const int Steps = 12;
    private const int EvalItems = 64;
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-reward-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task SeededShortRun_BeatsTheEqualTimeWarmStart_BeyondNoise(int seed)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var config = new RunConfig
        {
            Seed = seed,
            Steps = Steps,
            PromptsPerStep = 8,
            GroupSize = 8,
            LearningRate = 5e-4,
            SftDemonstrations = 3200,
            SftEchoExamples = 0,
            SftRedrawResultShare = 0,   // the teacher's habit to unlearn is skipping the tool; extra tool-using copies would hide it
            EvalSize = EvalItems,
            EvalEvery = 100,
            PassK = 0,
            RunDir = _runDir,
            Baseline = RunConfig.Baselines.SftEqualTime,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 96, ContextBudget: 256, MaxToolCalls: 1),
            TaskOptions = new() { ["correctnessWeight"] = "0", ["formatWeight"] = "0", ["toolUseWeight"] = "1", ["teacherMentalOperators"] = "+-*/" },
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>($"reward-improves-{seed}");

        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 20);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var baseline = status.Baseline;
        Assert.NotNull(baseline);
        Assert.True(baseline.State == RunState.Completed, $"baseline {baseline.State}: {baseline.Error}");
        Assert.True(baseline.SftSteps > 0 && baseline.SftSeconds >= baseline.RlSeconds, $"baseline: {baseline.SftSteps} SFT steps in {baseline.SftSeconds:0.0} s for RL's {baseline.RlSeconds:0.0} s");
        var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, $"reward-improves-{seed}", "metrics.csv")).Where(r => r.Step > 0).ToList();
        Assert.Equal(Steps, rows.Count);
        var rl = (Mean: rows[^1].Values["eval/reward_mean"], Std: rows[^1].Values["eval/reward_std"]);
        var sft = (Mean: baseline.Metrics["eval/reward_mean"], Std: baseline.Metrics["eval/reward_std"]);
        var difference = rl.Mean - sft.Mean;
        var pooledVariance = (((rl.Std * rl.Std) + (sft.Std * sft.Std)) / 2) + (difference * difference / 4);
        var noise = Math.Sqrt(2 * pooledVariance / EvalItems);
        Assert.True(
            difference > 4 * noise,
            $"seed {seed}: held-out reward after RL {rl.Mean:0.000} vs equal-time SFT {sft.Mean:0.000} (standard error of the difference {noise:0.000})");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
