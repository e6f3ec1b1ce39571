using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Policy.Algorithms;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>ARPO / AEPO runs: configuration, and the step loop with rollout trees on a two-silo cluster at toy scale.</summary>
public sealed class BranchingTrainingRunTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-branching-run-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Resolve_AlgorithmAepoWithSets_FillsThePresetsAndKeepsTheOverrides()
    {
        var arpo = TrainCommands.Resolve(null, null, "arpo", 1, null, null, ["branching.alpha=1.0", "branching.attribution=hard", "groupSize=4"]);
        var aepo = TrainCommands.Resolve(null, null, "aepo", 1, null, null, ["branching.initialTrajectories=3"]);

        Assert.Equal(1.0, arpo.Branching.Alpha);
        Assert.Equal(new BranchingSettings { Alpha = 1.0, Attribution = "hard", BranchPolicy = "arpo", BudgetAllocator = "fixed" }, ResolvedAlgorithm.ForRun(arpo).Branching);
        Assert.Equal("aepo", ResolvedAlgorithm.ForRun(aepo).Branching!.BranchPolicy);
        Assert.Equal("aepo-premonitor", ResolvedAlgorithm.ForRun(aepo).Branching!.BudgetAllocator);
        Assert.Equal(3, ResolvedAlgorithm.ForRun(aepo).Branching!.InitialTrajectories);
        Assert.Null(ResolvedAlgorithm.ForRun(TrainCommands.Resolve(null, null, "grpo", 1, null, null, [])).Branching);
        Assert.Throws<ArgumentException>(() => ResolvedAlgorithm.ForRun(TrainCommands.Resolve(null, null, "arpo", 1, null, null, ["branching.initialTrajectories=9", "groupSize=4"])));
        Assert.Throws<ArgumentException>(() => ResolvedAlgorithm.ForRun(TrainCommands.Resolve(null, null, "arpo", 1, null, null, ["branching.branchPolicy=coin"])));
    }

    [Theory]
    [InlineData("arpo")]
    [InlineData("aepo")]
    public async Task TrainingRun_BranchingAlgorithmOnTwoSilos_GrowsTreesWithForksAndTrains(string algorithm)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools");
        var config = new RunConfig
        {
            Algorithm = algorithm,
            Steps = 2,
            PromptsPerStep = 4,
            GroupSize = 4,
            SftDemonstrations = 48,
            SftEpochs = 4,
            EvalSize = 2,
            EvalEvery = 2,
            PassK = 0,
            Temperature = 0.7,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 3, MaxNewTokensPerTurn: 64, ContextBudget: 384),
            Branching = new BranchingSettings { InitialTrajectories = 2, Alpha = 1.0, Tau = 0.0 },
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>($"{algorithm}-toy");

        await run.StartAsync(config);
        var status = await TrainingRunWait.UntilFinishedAsync(run, TimeSpan.FromMinutes(8));

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, $"{algorithm}-toy", "metrics.csv"));
        var steps = rows.Where(r => r.Step > 0).ToList();
        Assert.Equal(2, steps.Count);
        Assert.All(steps, r => Assert.True(r.Values.ContainsKey("branches_per_prompt") && r.Values.ContainsKey("tool_calls_per_solved") && r.Values.ContainsKey("loss/pg")));
        // α = 1 (arpo) and τ = 0 (aepo) fork at every tool result the budget allows: the warm-started model calls the calculator, so trees grow.
        Assert.True(steps.Sum(r => r.Values["branches_per_prompt"]) > 0, "no fork in two steps: " + string.Join(", ", steps[^1].Values.Select(kv => $"{kv.Key}={kv.Value}")));
        // N: 2 from the fixed allocator (arpo), from AEPO's pre-monitoring probe in [1, M] (aepo); the rest of M = 4 is forks and top-ups.
        Assert.All(steps, r => Assert.Equal(4.0, r.Values["branching/initial_trajectories"] + r.Values["branching/forks_taken"] + r.Values["branching/top_ups"], 6));
        Assert.All(steps, r => Assert.InRange(r.Values["branching/initial_trajectories"], algorithm == "arpo" ? 2.0 : 1.0, algorithm == "arpo" ? 2.0 : 4.0));
        Assert.All(steps, r => Assert.Equal(0.0, r.Values["branching/replay_mismatches"]));
        Assert.Contains(steps, r => r.Values["branching/depth_max"] >= 1);

        // Tool calls made: every trajectory's calls (4 prompts × a tree of 4), less the prefixes forks replayed.
        Assert.All(steps, r => Assert.Equal((r.Values["tool_calls_per_traj"] * 16) - r.Values["branching/replayed_calls"], r.Values["tools/calls_made"], 6));
        Assert.True(steps[^1].Values["policy_version"] > steps[0].Values["policy_version"]);
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}

/// <summary>Polls a run until it is finished.</summary>
internal static class TrainingRunWait
{
    public static async Task<RunStatus> UntilFinishedAsync(ITrainingRunGrain run, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var status = await run.GetStatusAsync();
            if (status.IsFinished)
            {
                return status;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"the run did not finish within {timeout}");
    }
}
