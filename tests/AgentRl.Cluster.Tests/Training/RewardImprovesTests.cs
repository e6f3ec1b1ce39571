using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// A seeded short run on one silo — warm start, then GRPO — raises the rollout reward. The warm start teaches the tool
/// format from gold demonstrations, then a flaw phase of skip-tool demonstrations makes the model skip its calculator
/// about half of the time; a call earns the tool-use part of the reward that a skip does not, so GRPO should move the
/// policy towards calling. The assertion compares the first and last steps' mean rewards against their standard errors.
/// </summary>
public sealed class RewardImprovesTests : IDisposable
{
    private const int Steps = 16;
    private const int Compared = 4;
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-reward-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task SeededShortRun_RaisesRolloutReward_BeyondNoise()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var config = new RunConfig
        {
            Seed = 3,
            Steps = Steps,
            PromptsPerStep = 8,
            GroupSize = 8,
            LearningRate = 1e-3,
            SftDemonstrations = 3200,
            SftEchoExamples = 0,
            SftFlawPhaseDemonstrations = 800,
            SftFlawedFraction = 0.6,
            EvalSize = 8,
            EvalEvery = 100,
            PassK = 0,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 96, ContextBudget: 384, MaxToolCalls: 2),
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("reward-improves");

        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.State is RunState.Completed or RunState.Failed or RunState.Stopped, minutes: 20);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, "reward-improves", "metrics.csv")).Where(r => r.Step > 0).ToList();
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
            $"reward {first.Mean:0.000} (±{first.StandardError:0.000}) over steps 1–{Compared} vs {last.Mean:0.000} (±{last.StandardError:0.000}) over the last {Compared}");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
