using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// A seeded short run on one silo — a small warm start, then GRPO — raises the rollout reward, for every seed. The reward
/// is the arithmetic task's answer-tag format check alone (<c>taskOptions</c>: correctness 0, format 1, tool use 0): after
/// 400 gold demonstrations the model closes its answer tag in about 10–30 % of samples at temperature 1, and GRPO has to
/// find and reinforce the well-formed endings. The assertion compares the first and last four steps' mean rewards against
/// their standard errors.
/// </summary>
/// <remarks>
/// Sized across seeds, not tuned on one (2 Dec 2026, <c>agentrl train</c> with this configuration, 12 steps): seeds 1–5
/// all pass, by 8.2–10.0 standard errors against the threshold of 4 (rewards 0.164 → 0.512, 0.238 → 0.566,
/// 0.219 → 0.559, 0.129 → 0.461, 0.121 → 0.492). At learning rate 1e-3 seeds 4 and 5 collapsed to a reward of 0, hence
/// 5e-4. The earlier version of this test rewarded tool use after a flaw phase; its effect had no stable sign at this
/// scale (it passed or failed with the machine's load).
/// </remarks>
public sealed class RewardImprovesTests : IDisposable
{
    private const int Steps = 12;
    private const int Compared = 4;
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-reward-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task SeededShortRun_RaisesRolloutReward_BeyondNoise(int seed)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var config = new RunConfig
        {
            Seed = seed,
            Steps = Steps,
            PromptsPerStep = 8,
            GroupSize = 8,
            LearningRate = 5e-4,
            SftDemonstrations = 400,
            SftEchoExamples = 0,
            SftFlawPhaseDemonstrations = 0,
            EvalSize = 8,
            EvalEvery = 100,
            PassK = 0,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 64, ContextBudget: 384, MaxToolCalls: 1),
            TaskOptions = new() { ["correctnessWeight"] = "0", ["formatWeight"] = "1", ["toolUseWeight"] = "0" },
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>($"reward-improves-{seed}");

        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.State is RunState.Completed or RunState.Failed or RunState.Stopped, minutes: 20);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, $"reward-improves-{seed}", "metrics.csv")).Where(r => r.Step > 0).ToList();
        Assert.Equal(Steps, rows.Count);
        var samples = config.PromptsPerStep * config.GroupSize * Compared;
        (double Mean, double StandardError) Window(IEnumerable<MetricsCsvRow> window)
        {
            var list = window.ToList();
            var mean = list.Average(r => r.Values["reward_mean"]);
            var variance = list.Average(r => Math.Pow(r.Values["rollout/reward_std"], 2));
            return (mean, Math.Sqrt(variance / samples));
        }

        var first = Window(rows.Take(Compared));
        var last = Window(rows.TakeLast(Compared));
        var noise = Math.Sqrt((first.StandardError * first.StandardError) + (last.StandardError * last.StandardError));
        Assert.True(
            last.Mean - first.Mean > 4 * noise,
            $"seed {seed}: reward {first.Mean:0.000} (±{first.StandardError:0.000}) over steps 1–{Compared} vs {last.Mean:0.000} (±{last.StandardError:0.000}) over the last {Compared}");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
