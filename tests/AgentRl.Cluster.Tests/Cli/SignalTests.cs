using System.Diagnostics;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Reporting;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM sent to a real <c>agentrl train</c> process on its embedded silo, in each phase: the run
/// stops promptly, run_state.json says Stopped with what it kept, and the exit code is 130. A second signal exits at once.
/// </summary>
public sealed class SignalTests : IDisposable
{
    /// <summary>How long a stopped run may take to exit: a hang guard, not a speed target.</summary>
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, int, string[], string> Phases => new()
    {
        // Building 200,000 demonstrations takes tens of seconds: the signal lands while they are built.
        { "demonstrations", 2, ["--set", "sftDemonstrations=200000", "--set", "taskOptions.MaxDigits=4", "--set", "sftFlawPhaseDemonstrations=0"], @"warm start: demonstrations \d+ % \([1-9]" },
        { "sft", 15, ["--set", "sftDemonstrations=400", "--set", "sftEpochs=200"], @"warm start: SFT \d+ % \(batch [1-9]" },
        { "rollout", 2, ["--set", "sftDemonstrations=0"], @"step 1/200 reward" },
        { "update", 15, ["--set", "sftDemonstrations=0", "-v"], @"step 2: Update" },
    };

    [Theory]
    [MemberData(nameof(Phases))]
    public async Task Signal_InEachPhase_StopsPromptlyWithTheStateRecorded(string phase, int signal, string[] options, string marker)
    {
        var runId = $"signal-{phase}";
        await using var train = Start(runId, options);
        await WaitForAsync(train, marker);

        Send(train, signal);
        var exited = await ExitAsync(train);

        Assert.True(exited, $"{phase}: no exit within {ExitWithin} of signal {signal}\n{train.Output}");
        Assert.True(train.Process.ExitCode == 130, $"{phase}: exit {train.Process.ExitCode}\n{train.Output}");
        Assert.Contains("agentrl: stopping", train.Output, StringComparison.Ordinal);
        var state = RunStateFile.Read(Path.Combine(_dir.Path, runId))!;
        Assert.Equal(RunState.Stopped, state.State);
        if (phase is "demonstrations" or "sft")
        {
            // A warm start stopped before its end leaves no checkpoint to resume.
            Assert.False(state.HasTrainerState, train.Output);
            Assert.Contains("nothing to resume", train.Output, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(state.HasTrainerState, train.Output);
            Assert.InRange(state.Step, 1, 199);
            Assert.Contains($"stopped after step {state.Step}; continue with: agentrl train --resume {runId}", train.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SecondSignal_ExitsAtOnce_SayingWhatWasKept()
    {
        await using var train = Start("signal-twice", ["--set", "sftDemonstrations=0"]);
        await WaitForAsync(train, @"step 1/200 reward");

        Processes.Interrupt(train.Process);
        await Task.Delay(200);
        var clock = Stopwatch.StartNew();
        Processes.Interrupt(train.Process);
        var exited = await ExitAsync(train);

        Assert.True(exited, train.Output);
        Assert.Equal(130, train.Process.ExitCode);
        Assert.Matches(@"agentrl: interrupted; kept: the checkpoint after step \d+ in .*signal-twice; continue with: agentrl train --resume signal-twice", train.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"second signal took {clock.Elapsed}");
        var state = RunStateFile.Read(Path.Combine(_dir.Path, "signal-twice"))!;
        Assert.True(state.HasTrainerState, train.Output);
    }

    // env --default-signal=INT (it execs dotnet in place): SIGINT is not ignored even when the test runner was started
    // in the background, where the shell set it to ignored and every child inherits that.
    private OwnedProcess Start(string runId, string[] options) => new("train", "env",
    [
        "--default-signal=INT", "dotnet", Processes.ClientDll, "train", "--run-dir", _dir.Path, "--steps", "200", "--set", $"runId={runId}", "--set", "evalSize=2", "--set", "passK=0",
        "--set", "promptsPerStep=2", "--set", "groupSize=2", "--set", "limits.maxNewTokensPerTurn=16", .. options,
    ]);

    private static void Send(OwnedProcess process, int signal)
    {
        if (signal == 2)
        {
            Processes.Interrupt(process.Process);
        }
        else
        {
            Processes.Terminate(process.Process);
        }
    }

    private static async Task WaitForAsync(OwnedProcess process, string pattern)
    {
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (!System.Text.RegularExpressions.Regex.IsMatch(process.Output, pattern))
        {
            Assert.False(process.Process.HasExited, $"exited before '{pattern}':\n{process.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no '{pattern}' within 4 minutes:\n{process.Output}");
            await Task.Delay(100);
        }
    }

    private static async Task<bool> ExitAsync(OwnedProcess process)
    {
        using var wait = new CancellationTokenSource(ExitWithin);
        try
        {
            await process.Process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
