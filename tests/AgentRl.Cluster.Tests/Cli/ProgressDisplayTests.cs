using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;
using Spectre.Console.Testing;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>The progress of a followed run: plain lines when output is redirected, the live Spectre display in a terminal.</summary>
public sealed class ProgressDisplayTests
{
    /// <summary>A run as its grain reports it: start, initial eval, 100 demonstrations, 200 SFT batches, 3 steps of 4 phases.</summary>
    private static List<RunStatus> Run()
    {
        var statuses = new List<RunStatus>();
        var s = new RunStatus { RunId = "r", State = RunState.Starting, Steps = 3 };
        statuses.Add(s);
        statuses.Add(s = s with { State = RunState.Evaluating, Phase = "Evaluate" });
        statuses.Add(s = s with { InitialEvalAccuracy = 0 });
        for (var i = 0; i <= 100; i++)
        {
            statuses.Add(s = s with { State = RunState.WarmStart, Phase = "WarmStart", WarmStart = new WarmStartStatus { Stage = WarmStartStage.Demonstrations, Pass = 1, Done = i, Total = 100, EtaSeconds = 100 - i } });
        }

        for (var b = 0; b <= 200; b++)
        {
            statuses.Add(s = s with { WarmStart = new WarmStartStatus { Stage = WarmStartStage.Sft, Pass = 1, Done = b, Total = 200, Loss = 5.0 - (b / 50.0), EtaSeconds = 200 - b, Batches = b } });
        }

        statuses.Add(s = s with { Phase = "Evaluate", WarmStart = s.WarmStart! with { Stage = WarmStartStage.Done } });
        statuses.Add(s = s with { Phase = "Checkpoint", WarmStartEvalAccuracy = 0.5 });
        for (var step = 1; step <= 3; step++)
        {
            foreach (var phase in new[] { "Rollout", "Reward", "Update", "Checkpoint" })
            {
                statuses.Add(s = s with { State = RunState.Training, Phase = phase, Step = step });
            }

            statuses.Add(s = s with
            {
                MetricsStep = step,
                PolicyVersion = step,
                EtaSeconds = 3 - step,
                Metrics = new Dictionary<string, double> { ["rollout/reward_mean"] = 0.1 * step, ["rollout/accuracy"] = 0.25, ["tools/calls_per_traj"] = 1.5, ["perf/tokens_per_s"] = 900 },
            });
        }

        statuses.Add(s with { State = RunState.Completed, Phase = "", FinalEvalAccuracy = 0.75 });
        return statuses;
    }

    [Fact]
    public void Plain_OneLinePer5PercentOfEachWarmStartStage_AndOnePerStep()
    {
        var plain = new PlainProgress();
        var lines = Run().SelectMany(plain.Lines).ToList();

        Assert.Equal(21, lines.Count(l => l.StartsWith("warm start: demonstrations ", StringComparison.Ordinal)));
        Assert.Equal(21, lines.Count(l => l.StartsWith("warm start: SFT ", StringComparison.Ordinal)));
        Assert.Contains("warm start: SFT 50 % (batch 100/200) loss 3.0000 ETA 0:01:40", lines);
        Assert.Equal(
            ["step 1/3 reward 0.100 acc 25.0 % tools/traj 1.50 tok/s 900 v1 eval - ETA 0:00:02", "step 2/3 reward 0.200 acc 25.0 % tools/traj 1.50 tok/s 900 v2 eval - ETA 0:00:01", "step 3/3 reward 0.300 acc 25.0 % tools/traj 1.50 tok/s 900 v3 eval - ETA 0:00:00"],
            lines.Where(l => l.StartsWith("step ", StringComparison.Ordinal)));

        // Phases within a step update nothing in plain output: no line names one.
        Assert.DoesNotContain(lines, l => l.Contains("[Rollout]", StringComparison.Ordinal) || l.Contains("[Update]", StringComparison.Ordinal));
        Assert.Equal("Completed initial eval 0.0 % warm-start eval 50.0 %", lines[^1]);
    }

    [Fact]
    public async Task Live_InATerminal_ShowsBarsForTheWarmStartAndKeepsEachFinishedStageAndStep()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences().Width(160);
        using var statuses = Run().GetEnumerator();

        var last = await RunProgressView.FollowAsync(TextWriter.Null, () => Task.FromResult(statuses.MoveNext() ? statuses.Current : throw new InvalidOperationException("followed past the end")), console);

        Assert.Equal(RunState.Completed, last.State);
        var output = console.Output;
        Assert.Contains("warm start: demonstrations 50 % (50/100)", output, StringComparison.Ordinal);
        Assert.Contains("warm start: SFT 50 % (batch 100/200) loss 3.0000", output, StringComparison.Ordinal);
        Assert.Contains("━", output, StringComparison.Ordinal);   // a progress bar was drawn
        Assert.Contains("warm start: 100/100 demonstrations built", output, StringComparison.Ordinal);
        Assert.Contains("warm start: SFT 200/200 batches, loss 1.0000", output, StringComparison.Ordinal);
        Assert.Contains("step 2/3 [Update] reward 0.100", output, StringComparison.Ordinal);   // the updating line of step 2
        Assert.Contains("step 3/3 reward 0.300 acc 25.0 %", output, StringComparison.Ordinal);   // step 3's line, kept
    }

    [Fact]
    public void Plain_WarmStartStoppedBetweenPolls_SaysHowFarItGot()
    {
        var last = new WarmStartStatus { Stage = WarmStartStage.Sft, Pass = 1, Done = 7, Total = 200, Loss = 2.5 };

        Assert.Equal("warm start: SFT 7/200 batches, loss 2.5000", PlainProgress.StageDone(last, new RunStatus { RunId = "r", State = RunState.Stopped }));
        Assert.Equal("warm start: SFT 200/200 batches, loss 2.5000", PlainProgress.StageDone(last, new RunStatus { RunId = "r", State = RunState.WarmStart, Phase = "Evaluate" }));
    }
}
