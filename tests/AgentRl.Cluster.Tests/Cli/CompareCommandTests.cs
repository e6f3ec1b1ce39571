using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>The table of <c>agentrl compare</c> from finished runs.</summary>
public sealed class CompareCommandTests
{
    [Fact]
    public void Summarize_TwoAlgorithmsWithSeeds_MeanAndSampleStdOverCompletedRuns()
    {
        CompareCommands.RunOutcome[] outcomes =
        [
            new("grpo", 0, "Completed", 0.50, 0.4, 1.0, 1.5, 10, "a", TrainingToolCalls: 1000),
            new("grpo", 1, "Completed", 0.70, 0.4, 2.0, 2.5, 20, "b", TrainingToolCalls: 2000),
            new("arpo", 0, "Completed", 0.60, 0.4, 1.5, 1.0, 30, "c"),
            new("arpo", 1, "Failed", null, 0.4, null, null, 5, "d"),
        ];

        var summaries = CompareCommands.Summarize(outcomes);

        Assert.Equal(["grpo", "arpo"], summaries.Select(s => s.Algorithm));
        var grpo = summaries[0];
        Assert.Equal(0.60, grpo.AccuracyMean!.Value, 9);
        Assert.Equal(Math.Sqrt(0.02), grpo.AccuracySpread!.Value, 9); // (0.1² + 0.1²) / (2 − 1)
        Assert.Equal(1.5, grpo.ToolCallsPerTrajectory!.Value, 9);
        Assert.Equal(2.0, grpo.ToolCallsPerSolved!.Value, 9);
        Assert.Equal(15, grpo.WallSecondsMean, 9);
        Assert.Equal(1500, grpo.TrainingToolCalls!.Value, 9);
        var arpo = summaries[1];
        Assert.Equal((2, 1), (arpo.Runs, arpo.Completed));
        Assert.Equal(0.60, arpo.AccuracyMean!.Value, 9);
        Assert.Equal(0.0, arpo.AccuracySpread!.Value);

        var markdown = CompareCommands.Markdown(summaries, new RunConfig { Steps = 2 });
        Assert.Contains("| grpo | 2 (2) | 60.0% ± 14.1 | 40.0% | 1.50 | 2.00 | 1,500 | 15 s |", markdown, StringComparison.Ordinal);
        Assert.Contains("| arpo | 2 (1) | 60.0% ± 0.0 | 40.0% | 1.50 | 1.00 | - | 18 s |", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("Warm start shared", markdown, StringComparison.Ordinal);
        var csv = CompareCommands.Csv(outcomes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, csv.Length);
        Assert.StartsWith("arpo,1,Failed,,0.4,,,5,", csv[4], StringComparison.Ordinal);
        Assert.EndsWith(",training_tool_calls", csv[0], StringComparison.Ordinal);
        Assert.EndsWith(",1000", csv[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_SharedWarmStart_OneSftRunPerSeed_FromWhichEveryAlgorithmOfTheSeedStarts()
    {
        var plans = CompareCommands.Plan(["grpo", "arpo"], 2, sharedWarmStart: true, (name, seed) => new RunConfig { Algorithm = name, Seed = seed, RunDir = "cmp" });

        Assert.Equal([0, 1], plans.Select(p => p.Seed));
        foreach (var plan in plans)
        {
            var warm = plan.WarmStart!;
            Assert.Equal(($"warmstart-seed{plan.Seed}", true, plan.Seed, "grpo"), (warm.RunId, warm.SftOnly, warm.Seed, warm.Algorithm));
            Assert.Empty(warm.Validate());
            Assert.Equal([$"grpo-seed{plan.Seed}", $"arpo-seed{plan.Seed}"], plan.Runs.Select(r => r.RunId));
            Assert.All(plan.Runs, r => Assert.Equal(Path.GetFullPath(Path.Combine("cmp", warm.RunId)), r.InitFrom));
            Assert.All(plan.Runs, r => Assert.Equal((plan.Seed, false), (r.Seed, r.SftOnly)));
        }

        var markdown = CompareCommands.Markdown([], new RunConfig(), [new("warm-start", 0, "Completed", null, 0.3, null, null, 100, "w0"), new("warm-start", 1, "Failed", null, null, null, null, 50, "w1")]);
        Assert.Contains("Warm start shared per seed (1 of 2 completed, 19200 demonstrations, 75 s each", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_OwnWarmStartsOrNoWarmStart_NoSharedRun()
    {
        var each = CompareCommands.Plan(["grpo"], 1, sharedWarmStart: false, (name, seed) => new RunConfig { Algorithm = name, Seed = seed });
        var cold = CompareCommands.Plan(["grpo"], 1, sharedWarmStart: true, (name, seed) => new RunConfig { Algorithm = name, Seed = seed, SftDemonstrations = 0 });

        Assert.All(each.Concat(cold), p => Assert.Null(p.WarmStart));
        Assert.All(each.Concat(cold).SelectMany(p => p.Runs), r => Assert.Null(r.InitFrom));
    }

    [Fact]
    public void Outcome_EvaluationSolvedNothing_HasNoToolCallsPerSolvedQuestion()
    {
        var directory = Path.Combine(Path.GetTempPath(), "agentrl-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            using (var csv = new AgentRl.Grains.Reporting.MetricsCsvWriter(Path.Combine(directory, "metrics.csv")))
            {
                csv.Append(1, new Dictionary<string, double> { ["eval/accuracy"] = 0.5, ["eval/tool_calls_per_traj"] = 1.5, ["eval/tool_calls_per_solved"] = 1.0 });
                csv.Append(2, new Dictionary<string, double> { ["eval/accuracy"] = 0, ["eval/tool_calls_per_traj"] = 2.0, ["eval/tool_calls_per_solved"] = 0 });
            }

            var status = new RunStatus { RunId = "r", State = RunState.Completed, RunDirectory = directory, FinalEvalAccuracy = 0 };
            var outcome = CompareCommands.Outcome(new RunConfig(), status, AgentRl.Grains.Reporting.MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv")).Select(r => new AgentRl.Client.MetricsRow(r.Step, r.Values)).ToList(), 1);

            Assert.Equal(2.0, outcome.ToolCallsPerTrajectory);
            Assert.Null(outcome.ToolCallsPerSolved);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The metric rollout/branches_per_prompt as metrics.csv writes it (its column is renamed), averaged over the steps;
    /// tools/calls_made summed over them.
    /// </summary>
    [Fact]
    public void Outcome_ForksPerPromptAndCallsMade_FromTheMetricsAsWritten()
    {
        var directory = Path.Combine(Path.GetTempPath(), "agentrl-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            using (var csv = new AgentRl.Grains.Reporting.MetricsCsvWriter(Path.Combine(directory, "metrics.csv")))
            {
                csv.Append(0, new Dictionary<string, double> { ["eval/accuracy"] = 0.1 });
                csv.Append(1, new Dictionary<string, double> { [AgentRl.Pipeline.Metrics.MetricColumns.BranchesPerPrompt] = 1.0, [AgentRl.Pipeline.Metrics.RolloutMetrics.CallsMadeMetric] = 40 });
                csv.Append(2, new Dictionary<string, double> { [AgentRl.Pipeline.Metrics.MetricColumns.BranchesPerPrompt] = 2.0, [AgentRl.Pipeline.Metrics.RolloutMetrics.CallsMadeMetric] = 25 });
            }

            var rows = AgentRl.Grains.Reporting.MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv")).Select(r => new AgentRl.Client.MetricsRow(r.Step, r.Values)).ToList();
            var status = new RunStatus { RunId = "r", State = RunState.Completed, RunDirectory = directory };

            Assert.Equal(1.5, CompareCommands.Outcome(new RunConfig(), status, rows, 1).ForksPerPrompt);
            Assert.Null(CompareCommands.Outcome(new RunConfig(), status, rows.Take(1).ToList(), 1).ForksPerPrompt);

            // Tool calls made in training: tools/calls_made (its column keeps the full name) summed over the steps.
            Assert.Equal(65, CompareCommands.Outcome(new RunConfig(), status, rows, 1).TrainingToolCalls);
            Assert.Null(CompareCommands.Outcome(new RunConfig(), status, rows.Take(1).ToList(), 1).TrainingToolCalls);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
