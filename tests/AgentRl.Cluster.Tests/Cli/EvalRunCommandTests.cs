using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Reporting;
using AgentRl.Grains.Training;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// <c>agentrl eval --run RUN --step N</c> and checkpoint retention on a real tiny run trained by the CLI: checkpoints after
/// every step, of which the store keeps the newest three, the warm start's and the best; <c>runs show</c> on its folder.
/// </summary>
public sealed class EvalRunCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string RunDir => _dir.Combine("runs");

    private static Task<(int ExitCode, string Stdout, string Stderr)> Agentrl(params string[] args) =>
        Processes.RunAsync("dotnet", [Processes.ClientDll, .. args], Timeout);

    [Fact]
    public async Task SixCheckpointedSteps_KeepTheWarmStartCheckpoint_AndEvalRunStepZeroEvaluatesIt()
    {
        var train = await Agentrl(
            "train", "--run-dir", RunDir, "--steps", "6", "--set", "runId=kept", "--set", "sftDemonstrations=8", "--set", "sftEpochs=1", "--set", "evalSize=2",
            "--set", "evalEvery=1", "--set", "passK=0", "--set", "promptsPerStep=2", "--set", "groupSize=2", "--set", "limits.maxNewTokensPerTurn=12", "--set", "limits.maxTurns=2",
            "--set", "baseline=none");
        Assert.True(train.ExitCode == 0, train.Stdout + train.Stderr);

        var directory = Path.Combine(RunDir, "kept");
        var state = RunStateFile.Read(directory)!;
        Assert.Equal(Enumerable.Range(0, 7), state.Checkpoints.Select(c => c.Step));
        Assert.All(state.Checkpoints, c => Assert.NotNull(c.EvalAccuracy));
        var store = new LocalFolderCheckpointStore(Path.Combine(directory, "checkpoints"));
        var kept = await store.ListVersionsAsync();
        var warmStart = state.Checkpoints[0].Version;
        Assert.Contains(warmStart, kept);
        Assert.Equal(state.Checkpoints.TakeLast(TrainerGrain.CheckpointsKept).Select(c => c.Version), kept.TakeLast(TrainerGrain.CheckpointsKept));
        Assert.True(kept.Count <= TrainerGrain.CheckpointsKept + 2, $"kept {string.Join(", ", kept)}");
        var pruned = state.Checkpoints.Where(c => !kept.Contains(c.Version)).ToList();
        Assert.NotEmpty(pruned);   // the rotation did delete: step 0 survived it

        var eval = await Agentrl("eval", "--run", "kept", "--step", "0", "--run-dir", RunDir, "--show", "1");

        Assert.True(eval.ExitCode == 0, eval.Stdout + eval.Stderr);
        Assert.Contains($"run kept step 0: checkpoint {store.GetLocation(warmStart)} (arithmetic, 2 held-out items, seed 0)", eval.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^arithmetic: accuracy \d/2 = ", eval.Stdout);

        var gone = await Agentrl("eval", "--run", "kept", "--step", pruned[0].Step.ToString(System.Globalization.CultureInfo.InvariantCulture), "--run-dir", RunDir);
        Assert.Equal(2, gone.ExitCode);
        Assert.Contains($"the checkpoint of step {pruned[0].Step} of run 'kept' (version {pruned[0].Version}) is no longer in", gone.Stderr, StringComparison.Ordinal);
        Assert.Contains("steps whose checkpoints are kept: 0", gone.Stderr, StringComparison.Ordinal);

        // The real run's trajectory log: runs show prints its last step.
        var show = await Agentrl("runs", "show", "kept", "--run-dir", RunDir);
        Assert.True(show.ExitCode == 0, show.Stdout + show.Stderr);
        Assert.Matches(@"(?m)^--- step 6 kept/6/\d+ path \d+ reward \d\.\d\d finish \w+$", show.Stdout);
        Assert.Matches(@"(?m)^gold: -?\d+; reward parts: correctness \d", show.Stdout);
        Assert.Matches(@"(?m)^user: Compute ", show.Stdout);
    }

    [Fact]
    public async Task EvalCheckpoint_TaskOption_ReachesTheEpisodes_AndBadPathsExitTwo()
    {
        var sft = await Agentrl("sft", "--run-dir", RunDir, "--set", "runId=warm", "--set", "sftDemonstrations=8", "--set", "sftEpochs=1", "--set", "evalSize=2", "--set", "passK=0", "--set", "limits.maxNewTokensPerTurn=8");
        Assert.True(sft.ExitCode == 0, sft.Stdout + sft.Stderr);
        var checkpoint = new LocalFolderCheckpointStore(Path.Combine(RunDir, "warm", "checkpoints")).GetLocation(RunStateFile.Read(Path.Combine(RunDir, "warm"))!.Checkpoints.Single().Version);

        var withOption = await Agentrl("eval", "--checkpoint", checkpoint, "--n", "2", "--show", "2", "--task-option", "promptTemplate=Please compute {expression} now");
        var missing = await Agentrl("eval", "--checkpoint", "/nonexistent/agentrl-model");
        var unknownOption = await Agentrl("eval", "--checkpoint", checkpoint, "--task-option", "noSuchOption=1");
        var notAPair = await Agentrl("eval", "--checkpoint", checkpoint, "--task-option", "maxDigits");
        var both = await Agentrl("eval", "--checkpoint", checkpoint, "--run", "warm");
        var noRun = await Agentrl("eval", "--run", "nope", "--run-dir", RunDir);

        Assert.True(withOption.ExitCode == 0, withOption.Stdout + withOption.Stderr);
        Assert.Equal(2, withOption.Stdout.Split('\n').Count(l => l.StartsWith("user: Please compute ", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" now", StringComparison.Ordinal)));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("the checkpoint directory /nonexistent/agentrl-model does not exist.", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, unknownOption.ExitCode);
        Assert.Contains("taskOptions.noSuchOption: task 'arithmetic' has no such option", unknownOption.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, notAPair.ExitCode);
        Assert.Contains("--task-option 'maxDigits' is not NAME=VALUE", notAPair.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give either --checkpoint DIR or --run RUN", both.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, noRun.ExitCode);
        Assert.Contains($"no run 'nope' under {RunDir}", noRun.Stderr, StringComparison.Ordinal);
    }
}
