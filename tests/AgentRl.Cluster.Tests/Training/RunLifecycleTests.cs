using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>Warm start only, stop after the step in flight, resume from run_state.json and the trainer state; the CLI on top.</summary>
public sealed class RunLifecycleTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-runs-" + Guid.NewGuid().ToString("N"));

    private RunConfig Toy(int steps) => new()
    {
        Steps = steps,
        PromptsPerStep = 2,
        GroupSize = 3,
        SftDemonstrations = 8,
        SftEpochs = 1,
        EvalSize = 2,
        EvalEvery = 1,
        PassK = 0,
        RunDir = _runDir,
        Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 384),
    };

    [Fact]
    public async Task SftOnly_RunsTheWarmStartOnly_AndLeavesAResumableCheckpoint()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("warm");

        await run.StartAsync(Toy(steps: 5) with { SftOnly = true });
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(0, status.Step);
        Assert.Equal(0, status.Steps);
        Assert.NotNull(status.WarmStartEvalAccuracy);
        Assert.True(status.WarmStartLoss is > 0, $"loss {status.WarmStartLoss}");
        Assert.True(File.Exists(Path.Combine(status.CheckpointLocation!, "model.safetensors")), status.CheckpointLocation);
        var directory = Path.Combine(_runDir, "warm");
        Assert.Equal([0L], MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv")).Select(r => r.Step));
        var state = RunStateFile.Read(directory)!;
        Assert.Equal((RunState.Completed, 0, true), (state.State, state.Step, state.HasTrainerState));
        Assert.Equal(status.PolicyVersion, state.PolicyVersion);
        Assert.True(File.Exists(Path.Combine(directory, "trainer", TrainerState.StateFileName)));
    }

    [Fact]
    public async Task WarmStart_LongerThanTheSiloCallTimeout_Completes()
    {
        var callTimeout = TimeSpan.FromSeconds(8);
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) =>
        {
            o.Roles = "rollout,tools,trainer";
            o.CallTimeout = callTimeout;
        });
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("long-warm");

        // 800 gold demonstrations, 800 echo examples and an 800 + 800 flaw phase: well over 8 s of SFT on any CPU (half of
        // that took 6.9 s once SFT batches were cut by cost, TrainerOptions.SftMicroBatchOverheadTokens).
        await run.StartAsync(Toy(steps: 1) with { SftOnly = true, SftDemonstrations = 800, SftFlawPhaseDemonstrations = 800 });
        await RunWaits.UntilAsync(run, s => s.Phase == "WarmStart" || s.IsFinished);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await RunWaits.UntilAsync(run, s => s.Phase != "WarmStart");
        var warmStart = clock.Elapsed;
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.True(warmStart > callTimeout, $"the warm start took {warmStart.TotalSeconds:0.0} s, not longer than the {callTimeout.TotalSeconds} s call timeout: the test proves nothing");
    }

    [Fact]
    public async Task Stop_DuringTheWarmStart_AbandonsIt_AndTheRunCanStartAgain()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("stop-warm");

        // 3 200 demonstrations and as many echo examples: the best part of a minute of SFT or more, were it not stopped.
        await run.StartAsync(Toy(steps: 2) with { SftDemonstrations = 3200 });
        await RunWaits.UntilAsync(run, s => s.Phase == "WarmStart" || s.IsFinished);
        await Task.Delay(TimeSpan.FromSeconds(2));   // into the SFT batches
        await run.StopAsync();
        var stopped = await RunWaits.UntilAsync(run, s => s.IsFinished);

        // Abandoned, not finished: no warm-start loss or evaluation, no checkpoint, nothing recorded to resume from.
        Assert.True(stopped.State == RunState.Stopped, $"{stopped.State}: {stopped.Error}");
        Assert.Equal(0, stopped.Step);
        Assert.Null(stopped.WarmStartLoss);
        Assert.Null(stopped.WarmStartEvalAccuracy);
        Assert.Null(stopped.CheckpointLocation);
        var state = RunStateFile.Read(Path.Combine(_runDir, "stop-warm"));
        Assert.False(state?.HasTrainerState ?? false, "a stopped warm start must leave no trainer state to resume from");

        // The trainer the cancelled SFT left behind takes a new run of the same id from the start.
        await run.StartAsync(Toy(steps: 1));
        var again = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(again.State == RunState.Completed, $"{again.State}: {again.Error}");
        Assert.NotNull(again.WarmStartLoss);
    }

    [Fact]
    public void SftOnly_WithoutDemonstrations_IsInvalid()
    {
        Assert.Contains(new RunConfig { SftOnly = true, SftDemonstrations = 0 }.Validate(), p => p.Contains("sftOnly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoppedRun_ResumesAtTheNextStep_WithItsOptimizerStateAndOneMetricsRowPerStep()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("resumable");

        // Stop while step 1 is in flight: the run finishes step 1 and ends Stopped.
        await run.StartAsync(Toy(steps: 3));
        await RunWaits.UntilAsync(run, s => s.State == RunState.Training || s.IsFinished);
        await run.StopAsync();
        var stopped = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(stopped.State == RunState.Stopped, $"{stopped.State}: {stopped.Error}");
        Assert.InRange(stopped.Step, 1, 2);
        var directory = Path.Combine(_runDir, "resumable");
        var before = RunStateFile.Read(directory)!;
        Assert.Equal((RunState.Stopped, stopped.Step, stopped.PolicyVersion), (before.State, before.Step, before.PolicyVersion));
        var optimizerStepsBefore = ReadRlOptimizerSteps(directory);
        Assert.True(optimizerStepsBefore > 0);

        await run.StartAsync(Toy(steps: 4) with { Resume = true });
        var resumed = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.True(resumed.State == RunState.Completed, $"{resumed.State}: {resumed.Error}");
        Assert.Equal(4, resumed.Step);
        Assert.Equal(stopped.InitialEvalAccuracy, resumed.InitialEvalAccuracy);
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal([0L, 1L, 2L, 3L, 4L], rows.Select(r => r.Step));

        // Versions continue from the stopped run's, not from the warm start's.
        var versions = rows.Skip(1).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.Equal(stopped.PolicyVersion, versions[stopped.Step - 1]);
        Assert.True(resumed.PolicyVersion > stopped.PolicyVersion, $"{stopped.PolicyVersion} → {resumed.PolicyVersion}");

        // The optimizer's step count continues: it is the sum over every step's updates, before and after the resume.
        var perStep = rows.Skip(1).Sum(r => r.Values.GetValueOrDefault(MetricColumns.ToColumn("actor/optimizer_steps")));
        var optimizerStepsAfter = ReadRlOptimizerSteps(directory);
        Assert.True(optimizerStepsAfter > optimizerStepsBefore);
        Assert.Equal(perStep, optimizerStepsAfter);
        Assert.Equal(RunState.Completed, RunStateFile.Read(directory)!.State);
    }

    [Fact]
    public async Task InitFrom_StartsFromAnotherRunsWarmStart_WithItsWeightsEvaluationsAndStepZeroRows()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var source = cluster.Client.GetGrain<ITrainingRunGrain>("shared-warm");
        await source.StartAsync(Toy(steps: 5) with { SftOnly = true });
        var warm = await RunWaits.UntilAsync(source, s => s.IsFinished);
        Assert.True(warm.State == RunState.Completed, $"{warm.State}: {warm.Error}");
        var sourceDir = Path.Combine(_runDir, "shared-warm");
        var sourceRows = MetricsCsvWriter.Read(Path.Combine(sourceDir, "metrics.csv"));

        // No RL steps: the run's own step-0 checkpoint holds exactly the source's warm-started weights and optimizer.
        var copy = cluster.Client.GetGrain<ITrainingRunGrain>("from-warm");
        await copy.StartAsync(Toy(steps: 0) with { InitFrom = sourceDir, SftDemonstrations = 0 });
        var copied = await RunWaits.UntilAsync(copy, s => s.IsFinished);

        Assert.True(copied.State == RunState.Completed, $"{copied.State}: {copied.Error}");
        Assert.Equal((warm.InitialEvalAccuracy, warm.WarmStartEvalAccuracy, warm.WarmStartLoss), (copied.InitialEvalAccuracy, copied.WarmStartEvalAccuracy, copied.WarmStartLoss));
        var copyDir = Path.Combine(_runDir, "from-warm");
        foreach (var file in new[] { Path.Combine(TrainerState.ModelDirectory, "model.safetensors"), TrainerState.OptimizerFileName })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(sourceDir, "trainer", file)), File.ReadAllBytes(Path.Combine(copyDir, "trainer", file)));
        }

        var copiedRows = MetricsCsvWriter.Read(Path.Combine(copyDir, "metrics.csv"));
        Assert.Equal(sourceRows.Select(r => (r.Step, r.Values.Count)), copiedRows.Select(r => (r.Step, r.Values.Count)));
        Assert.Equal(sourceRows.SelectMany(r => r.Values.OrderBy(kv => kv.Key)), copiedRows.SelectMany(r => r.Values.OrderBy(kv => kv.Key)));

        // With RL steps it trains on from there (a step whose groups all tie publishes no new version).
        var rl = cluster.Client.GetGrain<ITrainingRunGrain>("from-warm-rl");
        await rl.StartAsync(Toy(steps: 1) with { InitFrom = sourceDir });
        var trained = await RunWaits.UntilAsync(rl, s => s.IsFinished);
        Assert.True(trained.State == RunState.Completed, $"{trained.State}: {trained.Error}");
        Assert.Equal(1, trained.Step);
        Assert.True(trained.PolicyVersion >= warm.PolicyVersion, $"{warm.PolicyVersion} → {trained.PolicyVersion}");
        Assert.Equal([0L, 1L], MetricsCsvWriter.Read(Path.Combine(_runDir, "from-warm-rl", "metrics.csv")).Select(r => r.Step).Distinct());
    }

    [Fact]
    public async Task SecondRunOfAPolicyOnTheSameCluster_StartsAboveTheFirstRunsVersions()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var first = cluster.Client.GetGrain<ITrainingRunGrain>("first-of-policy");
        await first.StartAsync(Toy(steps: 1));
        var done = await RunWaits.UntilAsync(first, s => s.IsFinished);
        Assert.True(done.State == RunState.Completed, $"{done.State}: {done.Error}");

        // Same policy id, fresh trainer: its random initial weights take the next version (published before the initial
        // evaluation), so the warm start's and every later version stay above the first run's.
        var second = cluster.Client.GetGrain<ITrainingRunGrain>("second-of-policy");
        await second.StartAsync(Toy(steps: 1));
        var next = await RunWaits.UntilAsync(second, s => s.IsFinished);

        Assert.True(next.State == RunState.Completed, $"{next.State}: {next.Error}");
        Assert.True(next.PolicyVersion > done.PolicyVersion + 1, $"{done.PolicyVersion} → {next.PolicyVersion}");
        var warmStart = MetricsCsvWriter.Read(Path.Combine(_runDir, "second-of-policy", "metrics.csv")).Where(r => r.Step == 0).SelectMany(r => r.Values).Where(kv => kv.Key == MetricColumns.ToColumn("sft/actor/policy_version")).Select(kv => kv.Value).Single();
        Assert.Equal(done.PolicyVersion + 2, warmStart);
    }

    [Fact]
    public async Task InitFrom_MissingOrTrainedSource_FailsNamingTheProblem()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var missing = cluster.Client.GetGrain<ITrainingRunGrain>("from-nowhere");
        await missing.StartAsync(Toy(steps: 1) with { InitFrom = Path.Combine(_runDir, "no-such-run") });
        var status = await RunWaits.UntilAsync(missing, s => s.IsFinished);

        Assert.Equal(RunState.Failed, status.State);
        Assert.Contains("initFrom", status.Error, StringComparison.Ordinal);
        Assert.Contains("run_state.json not found", status.Error, StringComparison.Ordinal);
        Assert.Contains(new RunConfig { SftOnly = true, InitFrom = "x" }.Validate(), p => p.Contains("initFrom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resume_WithoutRunState_FailsSayingThereIsNothingToResume()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) => o.Roles = "rollout,tools,trainer");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("never-ran");

        await run.StartAsync(Toy(steps: 1) with { Resume = true });
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.Equal(RunState.Failed, status.State);
        Assert.Contains("run_state.json", status.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_SftThenRunsListAndStatus_ShowTheWarmStartRunFromItsFiles()
    {
        var timeout = TimeSpan.FromMinutes(4);
        string[] toy = ["--run-dir", _runDir, "--set", "runId=cli-warm", "--set", "sftDemonstrations=8", "--set", "sftEpochs=1", "--set", "evalSize=2", "--set", "passK=0", "--set", "limits.maxNewTokensPerTurn=16"];

        var sft = await Processes.RunAsync("dotnet", [Processes.ClientDll, "sft", .. toy], timeout);

        Assert.True(sft.ExitCode == 0, sft.Stdout + sft.Stderr);
        Assert.Matches(@"│ warm-start loss\s+│\s+\d+\.\d{4} │", sft.Stdout);
        Assert.Matches(@"held-out accuracy \(greedy pass@1\)", sft.Stdout);
        Assert.Matches(@"│ initial\s+│\s+\d+\.\d ?% │", sft.Stdout);
        Assert.Matches(@"│ after warm start\s+│\s+\d+\.\d ?% │", sft.Stdout);
        Assert.Matches(@"(?m)^warm start: SFT( \(flaw phase\))? 100 % \(batch (\d+)/\2\) loss \d", sft.Stdout);

        // The warm start's loss curve: one row of sft.csv per batch, as many as metrics.csv counts.
        var batches = SftLogWriter.Read(Path.Combine(_runDir, "cli-warm", SftLogWriter.FileName));
        var stepZero = MetricsCsvWriter.Read(Path.Combine(_runDir, "cli-warm", "metrics.csv")).Single(r => r.Step == 0).Values;
        Assert.Equal(Enumerable.Range(1, (int)(stepZero["sft/steps"] + stepZero.GetValueOrDefault("sft/flaw_phase_steps"))), batches.Select(b => b.Batch));
        Assert.All(batches, b => Assert.True(b.Loss > 0 && b.Epoch >= 1));
        var checkpoint = sft.Stdout.Split('\n').Single(l => l.StartsWith("checkpoint: ", StringComparison.Ordinal))["checkpoint: ".Length..].Trim();
        Assert.True(File.Exists(Path.Combine(checkpoint, "model.safetensors")), checkpoint);
        Assert.Contains("agentrl train --resume cli-warm", sft.Stdout, StringComparison.Ordinal);

        var list = await Processes.RunAsync("dotnet", [Processes.ClientDll, "runs", "list", "--run-dir", _runDir], timeout);
        Assert.True(list.ExitCode == 0, list.Stderr);
        var row = list.Stdout.Split('\n').Single(l => l.StartsWith("cli-warm ", StringComparison.Ordinal));
        Assert.Matches(@"^cli-warm\s+Completed\s+0\s+\d+\.\d ?%\s+/", row);

        var status = await Processes.RunAsync("dotnet", [Processes.ClientDll, "runs", "status", "cli-warm", "--run-dir", _runDir], timeout);
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("cli-warm: Completed (from ", status.Stdout, StringComparison.Ordinal);
        Assert.Contains(checkpoint, status.Stdout, StringComparison.Ordinal);

        // The warm-started run continues with RL: its saved configuration, plus the overrides given.
        var train = await Processes.RunAsync("dotnet", [Processes.ClientDll, "train", "--resume", "cli-warm", "--run-dir", _runDir, "--steps", "1", "--set", "promptsPerStep=2", "--set", "groupSize=3"], timeout);
        Assert.True(train.ExitCode == 0, train.Stdout + train.Stderr);
        Assert.Contains("1 steps × 2 prompts × 3 rollouts (resumed)", train.Stdout, StringComparison.Ordinal);
        Assert.Equal([0L, 1L], MetricsCsvWriter.Read(Path.Combine(_runDir, "cli-warm", "metrics.csv")).Select(r => r.Step));
        var state = RunStateFile.Read(Path.Combine(_runDir, "cli-warm"))!;
        Assert.Equal((RunState.Completed, 1, false, 2), (state.State, state.Step, state.Config.SftOnly, state.Config.EvalSize));

        var unknown = await Processes.RunAsync("dotnet", [Processes.ClientDll, "runs", "stop", "no-such-run"], timeout);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("does not know run 'no-such-run'", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_RunsStopOnALiveCluster_StopsTheFollowedTrainRunAfterTheStepInFlight()
    {
        var timeout = TimeSpan.FromMinutes(2);
        var clusterId = "runs-" + Guid.NewGuid().ToString("N")[..8];
        var gateway = Processes.FreeTcpPort();
        await using var silo = new OwnedProcess("silo", "dotnet",
        [
            Processes.SiloDll, "--cluster-id", clusterId, "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
            "--gateway-port", gateway.ToString(CultureInfo.InvariantCulture), "--roles", "rollout,tools,trainer", "--accelerator", "cpu", "--torch-threads", "1",
        ]);
        string[] cluster = [Processes.ClientDll, "--cluster", $"localhost:{gateway}", "--cluster-id", clusterId];
        await using var train = new OwnedProcess("train", "dotnet",
        [
            .. cluster, "train", "--run-dir", _runDir, "--steps", "200", "--set", "runId=live", "--set", "sftDemonstrations=0", "--set", "evalSize=2", "--set", "passK=0",
            "--set", "promptsPerStep=2", "--set", "groupSize=2", "--set", "limits.maxNewTokensPerTurn=16",
        ]);

        // Wait until the cluster reports the run training, then stop it from another client process.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        (int ExitCode, string Stdout, string Stderr) status = default;
        while (DateTime.UtcNow < deadline && (status.Stdout is null || !status.Stdout.Contains("live: step ", StringComparison.Ordinal)))
        {
            Assert.False(train.Process.HasExited, train.Output + silo.Output);
            await Task.Delay(500);
            status = await Processes.RunAsync("dotnet", [.. cluster, "runs", "status", "live", "--run-dir", _runDir], timeout);
        }

        Assert.Contains("(from the cluster)", status.Stdout, StringComparison.Ordinal);

        // A follower renders the pushed progress until the run ends (here: stopped from another client).
        var follow = Processes.RunAsync("dotnet", [.. cluster, "runs", "status", "live", "--follow", "--run-dir", _runDir], timeout);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var stop = await Processes.RunAsync("dotnet", [.. cluster, "runs", "stop", "live"], timeout);
        Assert.True(stop.ExitCode == 0, stop.Stdout + stop.Stderr);
        Assert.Contains("stop requested", stop.Stdout, StringComparison.Ordinal);
        var followed = await follow;
        Assert.True(followed.ExitCode == 0, followed.Stdout + followed.Stderr);
        Assert.Matches(@"(?m)^step \d+/200 reward ", followed.Stdout);
        Assert.Matches(@"(?m)^Stopped", followed.Stdout);

        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            await train.Process.WaitForExitAsync(wait.Token);
        }

        Assert.True(train.Process.ExitCode == 0, train.Output);
        Assert.Contains("stopped after step", train.Output, StringComparison.Ordinal);
        var state = RunStateFile.Read(Path.Combine(_runDir, "live"))!;
        Assert.Equal(RunState.Stopped, state.State);
        Assert.InRange(state.Step, 1, 199);
        var rows = MetricsCsvWriter.Read(Path.Combine(_runDir, "live", "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, state.Step + 1).Select(i => (long)i), rows.Select(r => r.Step));

        var list = await Processes.RunAsync("dotnet", [.. cluster, "runs", "list", "--run-dir", _runDir], timeout);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches($@"(?m)^live\s+Stopped\s+{state.Step}\s", list.Stdout);
    }

    private static long ReadRlOptimizerSteps(string runDirectory)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDirectory, "trainer", TrainerState.StateFileName)));
        return json.RootElement.GetProperty("rl_optimizer_steps").GetInt64();
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
