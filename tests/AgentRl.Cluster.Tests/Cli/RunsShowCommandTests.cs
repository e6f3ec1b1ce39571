using AgentRl.Abstractions.Rollouts;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Reporting;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary><c>agentrl runs show</c> on a run folder whose trajectories the run's own writer logged.</summary>
public sealed class RunsShowCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string LogRun(string id)
    {
        var directory = _dir.Combine("runs", id);
        using var artifacts = new RunArtifacts(directory, new RunArtifactsOptions { HostName = "h" });
        for (var step = 1; step <= 3; step++)
        {
            if (step == 2)
            {
                continue;   // a step without samples: not logged
            }

            var trajectories = new[] { TrajectoryRecordTests.Sample($"{id}/{step}/0"), TrajectoryRecordTests.Sample($"{id}/{step}/1", FinishReason.Eos) };
            artifacts.RecordSamples(step, trajectories, g => g.EndsWith("/0", StringComparison.Ordinal) ? TrajectoryRecordTests.Item("42") : null);
        }

        return directory;
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> Show(params string[] args) =>
        Processes.RunAsync("dotnet", [Processes.ClientDll, "runs", "show", .. args, "--run-dir", _dir.Combine("runs")], Timeout);

    [Fact]
    public async Task RunsShow_NoStep_PrintsTheLastLoggedStepsTrajectoriesAsEvalShowDoes()
    {
        LogRun("toy");

        var (exit, stdout, stderr) = await Show("toy");

        Assert.True(exit == 0, stdout + stderr);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(2, lines.Count(l => l.StartsWith("--- ", StringComparison.Ordinal)));
        Assert.Contains("--- step 3 toy/3/0 path 0 reward 0.90 finish maxTurns", lines);
        Assert.Contains("gold: 42; reward parts: correctness 1, format 1, tool_use 0", lines);
        Assert.Contains("--- step 3 toy/3/1 path 0 reward 0.90 finish eos", lines);
        Assert.Contains("gold: -; reward parts: correctness 1, format 1, tool_use 0", lines);
        Assert.Contains("user: What is 1+2? Say \"done\" & answer.", lines);
        Assert.Contains("assistant: Let me compute. [calculator-evaluate {\"expression\":\"1+2\"}]", lines);
        Assert.Contains("tool: 3", lines);
        Assert.Contains("assistant: <answer>42</answer>", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("system:", StringComparison.Ordinal) || l.Contains("step 1 ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunsShow_StepAndGroup_PrintOnlyThatGroupOfThatStep()
    {
        LogRun("toy");

        var byIndex = await Show("toy", "--step", "1", "--group", "1");
        var byId = await Show("toy", "--step", "1", "--group", "toy/1/1");

        Assert.True(byIndex.ExitCode == 0, byIndex.Stdout + byIndex.Stderr);
        Assert.Equal(["--- step 1 toy/1/1 path 0 reward 0.90 finish eos"], byIndex.Stdout.Split('\n').Where(l => l.StartsWith("--- ", StringComparison.Ordinal)));
        Assert.Equal(byIndex.Stdout, byId.Stdout);
    }

    [Fact]
    public async Task RunsShow_UnknownRunStepOrGroup_ExitTwoSayingWhatThereIs()
    {
        LogRun("toy");
        Directory.CreateDirectory(_dir.Combine("runs", "empty"));

        var run = await Show("nope");
        var step = await Show("toy", "--step", "2");
        var group = await Show("toy", "--group", "7");
        var empty = await Show("empty");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"no run 'nope' under {_dir.Combine("runs")}", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, step.ExitCode);
        Assert.Contains("run 'toy' logged no trajectories at step 2; steps logged: 1, 3.", step.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, group.ExitCode);
        Assert.Contains("step 3 of run 'toy' has no logged trajectory of group '7'; groups logged: toy/3/0, toy/3/1.", group.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, empty.ExitCode);
        Assert.Contains("run 'empty' has logged no trajectories", empty.Stderr, StringComparison.Ordinal);
        Assert.All(new[] { run, step, group, empty }, r => Assert.Empty(r.Stdout));
    }

    [Theory]
    [InlineData(new long[] { 1, 2, 3, 5, 7, 8 }, "1-3, 5, 7-8")]
    [InlineData(new long[] { 4 }, "4")]
    public void StepRanges_SortedSteps_RunsOfConsecutiveStepsJoined(long[] steps, string expected) =>
        Assert.Equal(expected, AgentRl.Abstractions.Training.RunFiles.StepRanges(steps));
}
