using System.Text.Json;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class RunArtifactsTests
{
    private static Dictionary<string, double> Metrics(long step) => new()
    {
        [MetricColumns.RewardMean] = 0.1 * step,
        [MetricColumns.Accuracy] = 0.05 * step,
        [MetricColumns.ToolCallsPerTrajectory] = 2,
        ["loss/kl"] = 0.001 * step,
    };

    [Fact]
    public void RunArtifactsRecordStep_Metrics_GoToCsvColumnsAndTensorBoardTags()
    {
        using var dir = new TempDirectory();
        var runDirectory = dir.Combine("runs", "toy");
        using var artifacts = new RunArtifacts(runDirectory, new RunArtifactsOptions { HostName = "h", PlotEveryNSteps = 100 });

        artifacts.RecordStep(1, Metrics(1));
        artifacts.RecordStep(2, new Dictionary<string, double> { ["eval_accuracy"] = 0.5 });

        var rows = MetricsCsvWriter.Read(Path.Combine(runDirectory, "metrics.csv"));
        Assert.Equal([1L, 2L], rows.Select(r => r.Step));
        Assert.Equal(0.1, rows[0].Values["reward_mean"]);
        Assert.Equal(0.05, rows[0].Values["accuracy"]);
        Assert.Equal(2, rows[0].Values["tool_calls_per_traj"]);
        Assert.Equal(0.001, rows[0].Values["loss/kl"]);
        Assert.Equal(0.5, rows[1].Values["eval_accuracy"]);

        var events = EventFileReader.Read(artifacts.TensorBoardEventFilePath);
        Assert.Equal(runDirectory, Path.GetDirectoryName(artifacts.TensorBoardEventFilePath));
        Assert.Equal(
            ["loss/kl", "rollout/accuracy", "rollout/reward_mean", "tools/calls_per_traj"],
            events[1].Values.Select(v => v.Tag));
        Assert.Equal([new EventFileReader.ScalarValue("eval/accuracy", 0.5f)], events[2].Values);
    }

    [Fact]
    public void RunArtifactsRecordStep_WallClockMetrics_GoToTimingsCsvAndTensorBoard_NotMetricsCsv()
    {
        using var dir = new TempDirectory();
        var runDirectory = dir.Combine("runs", "timed");
        using (var artifacts = new RunArtifacts(runDirectory, new RunArtifactsOptions { HostName = "h", PlotEveryNSteps = 100 }))
        {
            artifacts.RecordStep(1, new Dictionary<string, double>(Metrics(1))
            {
                [MetricColumns.TokensPerSecond] = 1234.5,
                ["perf/phase/Rollout_s"] = 0.75,
                ["perf/update_seconds"] = 0.5,
                ["perf/tokens"] = 96,
            });
        }

        var metrics = File.ReadAllLines(Path.Combine(runDirectory, "metrics.csv"))[0].Split(',');
        Assert.Contains("perf/tokens", metrics);   // a count: the seed determines it
        Assert.DoesNotContain(metrics, c => c is "tokens_per_s" or "perf/phase/Rollout_s" or "perf/update_seconds");
        var timings = MetricsCsvWriter.Read(Path.Combine(runDirectory, RunArtifacts.TimingsFileName)).Single();
        Assert.Equal(1, timings.Step);
        Assert.Equal(1234.5, timings.Values["tokens_per_s"]);
        Assert.Equal(0.75, timings.Values["perf/phase/Rollout_s"]);
        Assert.Equal(0.5, timings.Values["perf/update_seconds"]);
        Assert.Equal(3, timings.Values.Count);
        // Values and timings of a step may be separate events (an RL step writes its timings after its checkpoint).
        var tags = EventFileReader.Read(Directory.GetFiles(runDirectory, "events.out.tfevents.*").Single()).Where(e => e.Step == 1).SelectMany(e => e.Values).Select(v => v.Tag).ToList();
        Assert.Contains("perf/tokens_per_s", tags);
        Assert.Contains("perf/phase/Rollout_s", tags);
        Assert.Contains("perf/tokens", tags);
        Assert.Equal(tags.Distinct().Count(), tags.Count);
    }

    private static EpisodeResult GroupCalling(params string[] tools) => new(
        "g",
        [
            new Trajectory
            {
                GroupId = "g",
                BranchPath = "0",
                TokenIds = [1, 2],
                PromptLength = 1,
                LossMask = [0, 1],
                Logprobs = [0, -1],
                Entropies = [0, 1],
                PolicyVersions = [-1, 0],
                FinishReason = FinishReason.Eos,
                ToolCalls = [.. tools.Select(t => new ToolCallRecord(t, "{}", "error: unknown tool", true, "unknown_tool", 0, 0, 0))],
            },
        ],
        1);

    [Fact]
    public void RunArtifactsRecordStep_CallOfAToolNamedWithSpacesOutsideTheCatalog_AddsNoColumnOrTag()
    {
        using var dir = new TempDirectory();
        var runDirectory = dir.Combine("runs", "typos");
        string[] catalog = ["calculator-evaluate"];
        using var artifacts = new RunArtifacts(runDirectory, new RunArtifactsOptions { HostName = "h", PlotEveryNSteps = 100 });

        artifacts.RecordStep(1, BranchingMetrics.Compute([GroupCalling("calculator-evaluate")], catalog));
        var header = File.ReadAllLines(Path.Combine(runDirectory, "metrics.csv"))[0];
        artifacts.RecordStep(2, BranchingMetrics.Compute([GroupCalling("calcator- 1evaluate", ":", "calculator evaluate")], catalog));

        Assert.Equal(header, File.ReadAllLines(Path.Combine(runDirectory, "metrics.csv"))[0]);
        Assert.Contains(",tools/calls_by_tool/unknown", header, StringComparison.Ordinal);
        var rows = MetricsCsvWriter.Read(Path.Combine(runDirectory, "metrics.csv"));
        Assert.Equal(3, rows[1].Values["tools/calls_by_tool/unknown"]);
        Assert.Equal(0, rows[1].Values["tools/calls_by_tool/calculator-evaluate"]);
        var events = EventFileReader.Read(artifacts.TensorBoardEventFilePath);
        Assert.Equal(events[1].Values.Select(v => v.Tag), events[2].Values.Select(v => v.Tag));
        Assert.DoesNotContain(events[2].Values, v => v.Tag.Contains("calcator", StringComparison.Ordinal) || v.Tag.EndsWith("/:", StringComparison.Ordinal));
    }

    [Fact]
    public void RunArtifactsRecordStep_EveryNSteps_RendersPlotAndDisposeRendersTheRest()
    {
        using var dir = new TempDirectory();
        var artifacts = new RunArtifacts(dir.Combine("run"), new RunArtifactsOptions { PlotEveryNSteps = 3, PlotWidth = 400, PlotHeight = 300 });

        artifacts.RecordStep(1, Metrics(1));
        artifacts.RecordStep(2, Metrics(2));
        Assert.False(File.Exists(artifacts.PlotPath));
        artifacts.RecordStep(3, Metrics(3));
        var afterThree = File.ReadAllBytes(artifacts.PlotPath);
        artifacts.RecordStep(4, Metrics(4));
        Assert.Equal(afterThree, File.ReadAllBytes(artifacts.PlotPath));
        artifacts.Dispose();

        var final = File.ReadAllBytes(artifacts.PlotPath);
        Assert.Equal((400, 300), TrainingPlotTests.ReadSize(final));
        Assert.NotEqual(afterThree, final);
    }

    [Fact]
    public void RunArtifacts_ResumedRun_PlotsEarlierStepsFromCsvAndDropsReplayedRows()
    {
        using var dir = new TempDirectory();
        var options = new RunArtifactsOptions { PlotEveryNSteps = 1000, PlotTitle = "toy", PlotWidth = 400, PlotHeight = 300 };
        using (var straight = new RunArtifacts(dir.Combine("straight"), options))
        {
            for (var step = 1; step <= 4; step++)
            {
                straight.RecordStep(step, Metrics(step));
            }
        }
        using (var interrupted = new RunArtifacts(dir.Combine("resumed"), options))
        {
            for (var step = 1; step <= 3; step++)
            {
                interrupted.RecordStep(step, Metrics(step));
            }
        }
        var resumeOptions = new RunArtifactsOptions
        {
            PlotEveryNSteps = 1000,
            PlotTitle = "toy",
            PlotWidth = 400,
            PlotHeight = 300,
            ResumeAfterStep = 2,
        };
        using (var resumed = new RunArtifacts(dir.Combine("resumed"), resumeOptions))
        {
            resumed.RecordStep(3, Metrics(3));
            resumed.RecordStep(4, Metrics(4));
        }

        Assert.Equal(
            File.ReadAllLines(dir.Combine("straight", "metrics.csv")),
            File.ReadAllLines(dir.Combine("resumed", "metrics.csv")));
        Assert.Equal(
            File.ReadAllBytes(dir.Combine("straight", TrainingPlot.FileName)),
            File.ReadAllBytes(dir.Combine("resumed", TrainingPlot.FileName)));
    }

    [Fact]
    public void RunArtifactsRecordTrajectory_Record_LandsInTrajectoryLog()
    {
        using var dir = new TempDirectory();
        using var artifacts = new RunArtifacts(dir.Combine("run"));

        artifacts.RecordTrajectory(new { step = 3, reward = 1.0 });

        var line = File.ReadAllLines(Path.Combine(artifacts.TrajectoryDirectory, "trajectories.0000.jsonl")).Single();
        Assert.Equal(3, JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt32());
    }

    [Fact]
    public void RunArtifacts_InvalidOptions_ThrowNamingTheField()
    {
        using var dir = new TempDirectory();

        var e = Assert.Throws<ArgumentException>(() => new RunArtifacts(dir.Path, new RunArtifactsOptions { PlotEveryNSteps = 0 }));

        Assert.Contains(nameof(RunArtifactsOptions.PlotEveryNSteps), e.Message);
    }
}
