using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Rollouts;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks;
using AgentRl.Tasks.Rewards;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Training;

/// <summary>
/// One training run. The step reads top to bottom as named, timed phases: Rollout → Reward → Advantage → Update →
/// PublishWeights → Evaluate → Checkpoint (Advantage, Update and PublishWeights run inside the trainer grain's
/// TrainStep and are timed together as Update). The loop runs in the background; status calls interleave with it.
/// </summary>
/// <remarks>
/// Fault tolerance: the configuration and an "active" flag are kept in grain storage and a reminder ticks while the run
/// goes. When the run's silo is lost, the reminder (or any call) activates the grain on another silo, which takes the run
/// up again after the last checkpointed step (<see cref="RunStateFile"/>, trainer state reloaded). A step whose calls
/// fail because another silo was lost (the trainer's, an episode's) is redone from the last checkpoint in place. Each
/// take-over raises a fencing epoch written into <c>run_state.json</c>, so a lost activation still running (in-process
/// test silos) cannot write a checkpoint, a metrics row or a final state over its successor's.
/// </remarks>
public sealed class TrainingRunGrain(
    TaskCatalog tasks,
    [PersistentState("run", AgentRlStorage.Name)] IPersistentState<RunGrainState> saved,
    AgentRlSiloOptions siloOptions,
    ILogger<TrainingRunGrain> logger) : Grain, ITrainingRunGrain, IRemindable
{
    private const string ReminderName = "agentrl.run-keepalive";

    /// <summary>Silo losses a run survives in place, one after another, before it fails.</summary>
    private const int MaxInPlaceRecoveries = 5;

    private RunStatus _status = new() { RunId = "", State = "Pending" };
    private CancellationTokenSource? _stop;
    private CancellationTokenSource _stopRequest = new();   // StopAsync: between steps, and at once for a warm start
    private bool _deactivating;
    private Task? _loop;
    private readonly Stopwatch _clock = new();
    private readonly Dictionary<IRunProgressObserver, DateTime> _observers = [];

    public async Task StartAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        if (_loop is { IsCompleted: false } && !_status.IsFinished)
        {
            throw new InvalidOperationException($"Run {this.GetPrimaryKeyString()} is already running.");
        }

        if (_loop is not null)
        {
            // A finished run may still be recording its end in grain storage.
            await _loop;
        }

        var problems = config.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid run configuration: " + string.Join("; ", problems));
        }

        config = config with { RunId = this.GetPrimaryKeyString() };
        saved.State = new RunGrainState { Config = config, Active = true, Epoch = NextEpoch(config), StartId = Guid.NewGuid().ToString("N") };
        await saved.WriteStateAsync(cancellationToken);
        await this.RegisterOrUpdateReminder(ReminderName, siloOptions.RunReminderPeriod, siloOptions.RunReminderPeriod);
        Begin(config, takeOver: false);
    }

    /// <summary>A run that was going when its previous activation was lost is taken up again here.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (saved.State is not { Active: true, Config: { } config })
        {
            return;
        }

        if (EndedInFiles(config) is { } ended)
        {
            // Lost after recording its end in run_state.json but before grain storage: it stays ended.
            logger.LogInformation("Run {RunId}: already {State} in run_state.json; not taken up again", config.RunId, ended);
            saved.State = saved.State with { Active = false };
            await saved.WriteStateAsync(cancellationToken);
            return;
        }

        saved.State = saved.State with { Epoch = NextEpoch(config), Recoveries = saved.State.Recoveries + 1 };
        await saved.WriteStateAsync(cancellationToken);
        logger.LogWarning("Run {RunId}: taken up again on {Silo} (epoch {Epoch}) after its previous activation was lost", config.RunId, SiloName, saved.State.Epoch);
        Begin(config, takeOver: true);
    }

    /// <summary>The keep-alive reminder: its tick is what activates the run on a surviving silo; a finished run drops it.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName && !saved.State.Active && _loop is not { IsCompleted: false })
        {
            await UnregisterKeepAliveAsync();
        }
    }

    public Task<RunStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(CurrentStatus());

    /// <summary>
    /// Stops after the step in flight: the loop checks the request between steps. A warm start in flight is abandoned at
    /// its next batch (it can take many minutes and leaves no checkpoint until it ends); the run ends Stopped with no
    /// checkpoint, to be started again rather than resumed.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopRequest.Cancel();
        return Task.CompletedTask;
    }

    public Task SubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default)
    {
        _observers[observer] = DateTime.UtcNow + siloOptions.ProgressSubscriptionLifetime;
        return observer.OnProgressAsync(CurrentStatus());
    }

    public Task UnsubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default)
    {
        _observers.Remove(observer);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A deactivating run stops at once (the step in flight is lost). It stays active in grain storage, so its reminder
    /// takes it up again after the last checkpoint on another silo; <c>agentrl train --resume</c> works as well.
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true;
        _stop?.Cancel();
        return Task.CompletedTask;
    }

    private void Begin(RunConfig config, bool takeOver)
    {
        _stop = new CancellationTokenSource();
        _stopRequest = new CancellationTokenSource();
        _clock.Restart();
        _status = new RunStatus { RunId = config.RunId, State = takeOver ? "Resuming" : "Starting", Steps = config.Steps, RunDirectory = Path.GetFullPath(Path.Combine(config.RunDir, config.RunId)), Silo = SiloName, Recoveries = saved.State.Recoveries };
        _loop = RunLoopAsync(config, takeOver, saved.State.Epoch, _stop.Token);
    }

    private string SiloName => GrainContext.Address.SiloAddress?.ToString() ?? "";

    private RunStatus CurrentStatus() => _status with { ElapsedSeconds = _clock.Elapsed.TotalSeconds, Epoch = saved.State.Epoch, Sequence = _sequence, Silo = SiloName };

    private long _sequence;

    /// <summary>The end state (Completed, Stopped, Failed) this start of the run recorded in <c>run_state.json</c>, if any.</summary>
    private string? EndedInFiles(RunConfig config)
    {
        var file = RunStateFile.Read(Path.GetFullPath(Path.Combine(config.RunDir, config.RunId)));
        return file is { State: "Completed" or "Stopped" or "Failed" } && file.StartId == saved.State.StartId && file.Epoch >= saved.State.Epoch ? file.State : null;
    }

    /// <summary>An epoch above both the stored one and the one in <c>run_state.json</c> (grain storage may be newer than the files or lost).</summary>
    private long NextEpoch(RunConfig config)
    {
        long fileEpoch = 0;
        try
        {
            fileEpoch = RunStateFile.Read(Path.GetFullPath(Path.Combine(config.RunDir, config.RunId)))?.Epoch ?? 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            logger.LogWarning(e, "Run {RunId}: could not read run_state.json for its epoch", config.RunId);
        }

        return Math.Max(saved.State.Epoch, fileEpoch) + 1;
    }

    /// <summary>
    /// The run from start (or take-over) to its end state. An attempt that fails because a silo was lost is redone from the
    /// last checkpoint, up to <see cref="MaxInPlaceRecoveries"/> times in a row.
    /// </summary>
    private async Task RunLoopAsync(RunConfig config, bool takeOver, long epoch, CancellationToken stop)
    {
        var runDir = _status.RunDirectory;
        var inPlace = 0;
        while (true)
        {
            try
            {
                var (attempt, resetMetrics) = takeOver ? TakeOverConfig(config, runDir) : (config, false);
                await RunAttemptAsync(attempt, resetMetrics, epoch, stop);
                break;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || _stopRequest.IsCancellationRequested)
            {
                Set(state: "Stopped", phase: "");
                break;
            }
            catch (RunSupersededException e)
            {
                // A newer activation owns the run: write nothing more.
                logger.LogWarning("Run {RunId}: {Reason}", config.RunId, e.Message);
                return;
            }
            catch (Exception e) when (IsSiloLoss(e) && inPlace < MaxInPlaceRecoveries)
            {
                inPlace++;
                saved.State = saved.State with { Recoveries = saved.State.Recoveries + 1 };
                _status = _status with { Recoveries = saved.State.Recoveries };
                logger.LogWarning(e, "Run {RunId}: a silo was lost during {Phase}; redoing from the last checkpoint (recovery {Count})", config.RunId, _status.Phase, inPlace);
                takeOver = true;
                Set(state: "Resuming", phase: "");
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "Run {RunId} failed", config.RunId);
                _status = _status with { State = "Failed", Error = e.Message };
                break;
            }
        }

        if (_deactivating)
        {
            // The silo is going away: the run stays active in grain storage and goes on elsewhere.
            return;
        }

        RecordFinalState(runDir, epoch);
        Notify();
        saved.State = saved.State with { Active = false };
        try
        {
            await saved.WriteStateAsync(CancellationToken.None);
            await UnregisterKeepAliveAsync();
        }
        catch (Exception e)
        {
            // The reminder drops itself on its next tick once the state says the run is not active.
            logger.LogWarning(e, "Run {RunId}: could not record the end of the run in grain storage", config.RunId);
        }
    }

    /// <summary>
    /// A take-over continues after the last checkpoint of this start of the run (or of the run it resumed); with none yet it
    /// starts over, dropping any metrics rows written before the loss.
    /// </summary>
    private (RunConfig Config, bool ResetMetrics) TakeOverConfig(RunConfig config, string runDir)
    {
        var file = RunStateFile.Read(runDir);
        var ours = file is { HasTrainerState: true } && (file.StartId == saved.State.StartId || config.Resume);
        return ours ? (config with { Resume = true }, false) : (config with { Resume = false }, true);
    }

    /// <summary>
    /// A call failed because the silo it went to (or came from) left the cluster, or a grain lost its state with it (a
    /// trainer not initialized, a registry that no longer lists the current version).
    /// </summary>
    private static bool IsSiloLoss(Exception e) => e switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or TrainerNotInitializedException or PolicyVersionNotPublishedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsSiloLoss),
        _ => e.InnerException is { } inner && IsSiloLoss(inner),
    };

    private async Task UnregisterKeepAliveAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>Pushes the status to subscribed observers, dropping lapsed subscriptions.</summary>
    private void Notify()
    {
        if (_observers.Count == 0)
        {
            return;
        }

        var now = DateTime.UtcNow;
        foreach (var lapsed in _observers.Where(o => o.Value < now).Select(o => o.Key).ToList())
        {
            _observers.Remove(lapsed);
        }

        _sequence++;
        var status = CurrentStatus();
        foreach (var observer in _observers.Keys)
        {
            observer.OnProgressAsync(status).Ignore();
        }
    }

    /// <summary>One attempt at the run: from the start, or after the last checkpoint (<see cref="RunConfig.Resume"/>), to its end state.</summary>
    private async Task RunAttemptAsync(RunConfig config, bool resetMetrics, long epoch, CancellationToken stop)
    {
        var runDir = _status.RunDirectory;
        {
            // Resume: continue after the last step whose trainer state was saved; metrics.csv drops any later rows.
            RunStateFile? resumed = null;
            if (config.Resume)
            {
                resumed = RunStateFile.Read(runDir) ?? throw new InvalidOperationException($"{Path.Combine(runDir, RunStateFile.FileName)} not found: the run has no checkpoint to resume from.");
                if (!resumed.HasTrainerState)
                {
                    throw new InvalidOperationException($"{runDir}: run_state.json names no trainer state to resume from.");
                }
            }

            using var artifacts = new RunArtifacts(runDir, resumed is not null ? new RunArtifactsOptions { ResumeAfterStep = resumed.Step } : resetMetrics ? new RunArtifactsOptions { ResumeAfterStep = -1 } : null);
            await File.WriteAllTextAsync(Path.Combine(runDir, "config.json"), System.Text.Json.JsonSerializer.Serialize(config, RunJson.Options), stop);
            var task = tasks.Get(config.Task, config.TaskOptions);
            var trainer = GrainFactory.GetGrain<ITrainerGrain>(config.PolicyId);
            var spec = new TrainerSpec(config.RunId, config.Algorithm, config.LearningRate, config.Steps, config.TokenBudget, config.Seed, Path.GetFullPath(config.RunDir), config.EpisodeBranching()?.Attribution ?? "soft", config.ResolveCheckpointStore(), LoadsState: config.Resume || !string.IsNullOrEmpty(config.InitFrom));
            long version;
            using (config.AllowCpuTraining ? PlacementRequestContext.AllowCpuTrainer() : null)
            {
                version = await trainer.InitializeAsync(spec, stop).ExplainTrainerPlacementFailure();
            }

            var evalItems = task.Generate(TaskSplit.Eval, config.EvalSize, config.Seed);
            var firstStep = 1;
            if (resumed is not null)
            {
                Set(state: "Resuming", phase: "LoadState", step: resumed.Step);
                var restored = await trainer.LoadStateAsync(resumed.TrainerPath(runDir), stop);
                version = restored.PolicyVersion;
                firstStep = resumed.Step + 1;
                _status = _status with
                {
                    PolicyVersion = version,
                    InitialEvalAccuracy = resumed.InitialEvalAccuracy,
                    WarmStartEvalAccuracy = resumed.WarmStartEvalAccuracy,
                    WarmStartLoss = resumed.WarmStartLoss,
                    FinalEvalAccuracy = resumed.FinalEvalAccuracy,
                    CheckpointLocation = restored.CheckpointLocation,
                };
                logger.LogInformation("Run {RunId}: resumed after step {Step} at version {Version}", config.RunId, resumed.Step, version);
            }
            else if (!string.IsNullOrEmpty(config.InitFrom))
            {
                version = await InitFromAsync(config, trainer, artifacts, stop);
                Set(phase: "Checkpoint");
                await CheckpointAsync(config, trainer, runDir, epoch, 0, version, stop);
            }
            else
            {
                Set(state: "Evaluating", phase: "Evaluate");
                // Before a warm start the model is random: its greedy accuracy is the baseline; sampled pass@k of up to
                // MaxTurns × MaxNewTokensPerTurn random tokens per answer would cost minutes and say nothing more.
                var initial = await EvaluateAsync(config, evalItems, version, "initial", stop, sampled: config.SftDemonstrations == 0);
                _status = _status with { InitialEvalAccuracy = initial.Accuracy };
                artifacts.RecordStep(0, initial.Metrics);

                if (config.SftDemonstrations > 0)
                {
                    Set(state: "WarmStart", phase: "WarmStart");
                    TrainResult sft;
                    using (var warmStartStop = CancellationTokenSource.CreateLinkedTokenSource(stop, _stopRequest.Token))
                    {
                        // A stop request cancels the SFT call itself: the cancellation reaches the trainer grain's loop.
                        sft = await trainer.SftAsync(new SftSpec(config.Task, config.TaskOptions, config.SftDemonstrations, config.SftFlawedFraction, config.SftEpochs, config.SftLearningRate, config.Seed + 1000, config.SftFlaws, Math.Min(config.SftEchoExamples, config.SftDemonstrations), Math.Min(config.SftFlawPhaseDemonstrations, config.SftDemonstrations), config.SftFlawPhaseLearningRate), warmStartStop.Token);
                    }

                    version = sft.PolicyVersion;
                    Set(phase: "Evaluate");
                    var warm = await EvaluateAsync(config, evalItems, version, "warmstart", stop);
                    _status = _status with
                    {
                        WarmStartEvalAccuracy = warm.Accuracy,
                        WarmStartLoss = sft.Metrics.TryGetValue("sft/loss", out var loss) ? loss : null,
                        PolicyVersion = version,
                        CheckpointLocation = sft.CheckpointLocation,
                    };
                    var metrics = new Dictionary<string, double>(warm.Metrics);
                    foreach (var (key, value) in sft.Metrics)
                    {
                        metrics[key] = value;
                    }

                    artifacts.RecordStep(0, metrics);
                    logger.LogInformation("Run {RunId}: warm start done, eval accuracy {Accuracy:P1}", config.RunId, warm.Accuracy);
                }

                Set(phase: "Checkpoint");
                await CheckpointAsync(config, trainer, runDir, epoch, 0, version, stop);
            }

            var steps = config.SftOnly ? 0 : config.Steps;
            _status = _status with { Steps = steps };
            var trainItems = task.Generate(TaskSplit.Train, Math.Max(1, config.Steps * config.PromptsPerStep), config.Seed + 1);
            var stepClock = Stopwatch.StartNew();
            for (var step = firstStep; step <= steps && !_stopRequest.IsCancellationRequested; step++)
            {
                stop.ThrowIfCancellationRequested();
                Set(state: "Training", phase: "Rollout", step: step);
                var phases = new Dictionary<string, double>();
                var clock = Stopwatch.StartNew();
                var prompts = Enumerable.Range(0, config.PromptsPerStep).Select(i => trainItems[((step - 1) * config.PromptsPerStep + i) % trainItems.Count]).ToList();
                var groups = await Task.WhenAll(prompts.Select((item, i) =>
                    GrainFactory.GetGrain<IEpisodeGrain>($"{config.RunId}/{step}/{i}").RunAsync(
                        new EpisodeSpec(config.PolicyId, config.Task, TaskCatalog.ToJson(item), config.GroupSize, new SamplingSettings(config.Temperature), config.Limits, unchecked((config.Seed * 100_003) + (step * 1009) + i), version, config.EpisodeBranching()),
                        stop)));
                phases["Rollout"] = clock.Elapsed.TotalSeconds;

                Set(phase: "Reward");
                clock.Restart();
                var trajectories = groups.SelectMany(g => g.Trajectories).ToList();
                var metrics = RolloutMetrics(trajectories, phases["Rollout"]);
                foreach (var (key, value) in BranchingMetrics.Compute(groups))
                {
                    metrics[key] = value;
                }

                phases["Reward"] = clock.Elapsed.TotalSeconds;

                Set(phase: "Update");
                clock.Restart();
                var update = await trainer.TrainStepAsync(trajectories, stop);
                version = update.PolicyVersion;
                phases["Update"] = clock.Elapsed.TotalSeconds;
                foreach (var (key, value) in update.Metrics)
                {
                    metrics[key] = value;
                }

                if (step % config.EvalEvery == 0 || step == steps)
                {
                    Set(phase: "Evaluate");
                    clock.Restart();
                    var eval = await EvaluateAsync(config, evalItems, version, $"step{step}", stop);
                    phases["Evaluate"] = clock.Elapsed.TotalSeconds;
                    foreach (var (key, value) in eval.Metrics)
                    {
                        metrics[key] = value;
                    }

                    _status = _status with { FinalEvalAccuracy = eval.Accuracy };
                }

                Set(phase: "Checkpoint");
                clock.Restart();
                metrics["rollout/policy_version"] = version;
                _status = _status with { CheckpointLocation = update.CheckpointLocation ?? _status.CheckpointLocation };
                await CheckpointAsync(config, trainer, runDir, epoch, step, version, stop);
                phases["Checkpoint"] = clock.Elapsed.TotalSeconds;
                foreach (var (phase, seconds) in phases)
                {
                    metrics[$"perf/phase/{phase}_s"] = seconds;
                }

                EnsureCurrent(runDir, epoch);
                artifacts.RecordStep(step, metrics);
                foreach (var trajectory in trajectories.Take(2))
                {
                    artifacts.RecordTrajectory(new { step, trajectory.GroupId, trajectory.BranchPath, trajectory.ParentPath, trajectory.ForkPosition, trajectory.Depth, trajectory.Reward, trajectory.RewardParts, trajectory.FinishReason, trajectory.Conversation, trajectory.TokenIds, trajectory.LossMask });
                }

                var perStep = stepClock.Elapsed.TotalSeconds / (step - firstStep + 1);
                _status = _status with { Metrics = metrics, PolicyVersion = version, EtaSeconds = perStep * (steps - step) };
                Notify();
                logger.LogInformation("Run {RunId} step {Step}: reward {Reward:0.000}, accuracy {Accuracy:P1}", config.RunId, step, metrics["rollout/reward_mean"], metrics["rollout/accuracy"]);
            }

            artifacts.RenderPlot();
            var done = _status.Step >= steps || (config.SftOnly && !_stopRequest.IsCancellationRequested);
            Set(state: done ? "Completed" : "Stopped", phase: "");
        }
    }

    /// <summary>
    /// <see cref="RunConfig.InitFrom"/>: loads the warm-start checkpoint of another run into the trainer, carries over its
    /// evaluations and step-0 metrics rows, and returns the policy version the trainer published for it.
    /// </summary>
    private async Task<long> InitFromAsync(RunConfig config, ITrainerGrain trainer, RunArtifacts artifacts, CancellationToken stop)
    {
        var sourceDir = Path.GetFullPath(config.InitFrom!);
        var source = RunStateFile.Read(sourceDir)
            ?? throw new InvalidOperationException($"initFrom: {Path.Combine(sourceDir, RunStateFile.FileName)} not found (initFrom names the directory of an agentrl sft run).");
        if (!source.HasTrainerState || source.Step != 0)
        {
            throw new InvalidOperationException(source.HasTrainerState
                ? $"initFrom: {sourceDir} last checkpointed step {source.Step}, not its warm start; use the directory of an agentrl sft run."
                : $"initFrom: {sourceDir} holds no trainer state (its warm start did not finish: {source.State}{(source.Error is null ? "" : $", {source.Error}")}).");
        }

        if (source.Config.PolicyId != config.PolicyId || source.Config.Task != config.Task)
        {
            logger.LogWarning("Run {RunId}: initFrom {Source} was warm-started for policy {SourcePolicy} on {SourceTask}, this run trains {Policy} on {Task}", config.RunId, sourceDir, source.Config.PolicyId, source.Config.Task, config.PolicyId, config.Task);
        }

        Set(state: "Resuming", phase: "LoadState");
        var restored = await trainer.LoadStateAsync(source.TrainerPath(sourceDir), stop);
        _status = _status with
        {
            PolicyVersion = restored.PolicyVersion,
            InitialEvalAccuracy = source.InitialEvalAccuracy,
            WarmStartEvalAccuracy = source.WarmStartEvalAccuracy,
            WarmStartLoss = source.WarmStartLoss,
            CheckpointLocation = restored.CheckpointLocation,
        };

        var sourceCsv = Path.Combine(sourceDir, MetricsCsvWriter.FileName);
        if (File.Exists(sourceCsv))
        {
            foreach (var row in MetricsCsvWriter.Read(sourceCsv).Where(r => r.Step == 0))
            {
                artifacts.RecordStep(0, row.Values);
            }
        }

        logger.LogInformation("Run {RunId}: starts from the warm start of {Source} (version {Version}, eval accuracy {Accuracy:P1})", config.RunId, sourceDir, restored.PolicyVersion, source.WarmStartEvalAccuracy);
        return restored.PolicyVersion;
    }

    /// <summary>
    /// Checkpoint phase: the trainer state (model + AdamW) to <c>trainer.next/</c>, then <c>run_state.json</c> naming it, then
    /// <c>trainer.next/</c> renamed to <c>trainer/</c> and the file updated. At every moment the file names a complete state.
    /// </summary>
    private async Task CheckpointAsync(RunConfig config, ITrainerGrain trainer, string runDir, long epoch, int step, long version, CancellationToken stop)
    {
        EnsureCurrent(runDir, epoch);
        SettleTrainerDirectory(runDir);
        var next = Path.Combine(runDir, RunStateFile.NextTrainerDirectoryName);
        if (Directory.Exists(next))
        {
            Directory.Delete(next, recursive: true);
        }

        await trainer.SaveStateAsync(next, stop);
        EnsureCurrent(runDir, epoch);
        _status = _status with { Step = step, PolicyVersion = version };
        (StateFile(config, step, "Training", hasTrainerState: true, epoch) with { TrainerDirectory = RunStateFile.NextTrainerDirectoryName }).Write(runDir);
        SettleTrainerDirectory(runDir);
        _lastConfig = config;
    }

    /// <summary>When <c>run_state.json</c> names <c>trainer.next/</c>: replaces <c>trainer/</c> with it and updates the file.</summary>
    private static void SettleTrainerDirectory(string runDir)
    {
        var file = RunStateFile.Read(runDir);
        if (file is null || file.TrainerDirectory == RunStateFile.TrainerDirectoryName)
        {
            return;
        }

        var next = Path.Combine(runDir, RunStateFile.NextTrainerDirectoryName);
        var current = Path.Combine(runDir, RunStateFile.TrainerDirectoryName);
        if (Directory.Exists(next))
        {
            if (Directory.Exists(current))
            {
                Directory.Delete(current, recursive: true);
            }

            Directory.Move(next, current);
        }

        (file with { TrainerDirectory = RunStateFile.TrainerDirectoryName }).Write(runDir);
    }

    /// <summary>Throws <see cref="RunSupersededException"/> when a newer activation of the run has written <c>run_state.json</c>.</summary>
    private static void EnsureCurrent(string runDir, long epoch)
    {
        var file = RunStateFile.Read(runDir);
        if (file is not null && file.Epoch > epoch)
        {
            throw new RunSupersededException($"epoch {epoch} was superseded by epoch {file.Epoch}");
        }
    }

    private RunConfig? _lastConfig;

    /// <summary>The end state goes into <c>run_state.json</c> too, keeping the last checkpointed step.</summary>
    private void RecordFinalState(string runDir, long epoch)
    {
        try
        {
            var previous = RunStateFile.Read(runDir);
            var config = previous?.Config ?? _lastConfig;
            if (config is null || previous?.Epoch > epoch)
            {
                return;
            }

            (StateFile(config, previous?.Step ?? 0, _status.State, previous?.HasTrainerState ?? false, epoch) with
            {
                PolicyVersion = previous?.PolicyVersion ?? 0,
                TrainerDirectory = previous?.TrainerDirectory ?? RunStateFile.TrainerDirectoryName,
            }).Write(runDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            logger.LogWarning(e, "Run {RunId}: could not record the final state in {Directory}", _status.RunId, runDir);
        }
    }

    private RunStateFile StateFile(RunConfig config, int step, string state, bool hasTrainerState, long epoch) => new()
    {
        Epoch = epoch,
        StartId = saved.State.StartId,
        Step = step,
        PolicyVersion = _status.PolicyVersion,
        State = state,
        Error = _status.Error,
        InitialEvalAccuracy = _status.InitialEvalAccuracy,
        WarmStartEvalAccuracy = _status.WarmStartEvalAccuracy,
        WarmStartLoss = _status.WarmStartLoss,
        FinalEvalAccuracy = _status.FinalEvalAccuracy,
        CheckpointLocation = _status.CheckpointLocation,
        HasTrainerState = hasTrainerState,
        UpdatedUtc = DateTimeOffset.UtcNow,
        Config = config with { Resume = false },
    };

    private async Task<(double Accuracy, Dictionary<string, double> Metrics)> EvaluateAsync(RunConfig config, IReadOnlyList<TaskItem> items, long version, string label, CancellationToken stop, bool sampled = true)
    {
        if (items.Count == 0)
        {
            return (0, []);
        }

        // Greedy pass@1 and, with k > 0, sampled pass@k on the held-out split.
        var greedy = await RunGroupsAsync(config, items, version, $"eval-{label}-greedy", 1, 0.0, stop);
        var accuracy = greedy.Average(g => Solved(g.Trajectories[0]) ? 1.0 : 0.0);
        var metrics = new Dictionary<string, double>
        {
            ["eval/accuracy"] = accuracy,
            ["eval/reward_mean"] = greedy.Average(g => g.Trajectories[0].Reward),
            ["eval/tool_calls_per_traj"] = greedy.Average(g => g.Trajectories[0].ToolCalls.Count),
            ["eval/tool_calls_per_solved"] = greedy.Any(g => Solved(g.Trajectories[0])) ? greedy.Where(g => Solved(g.Trajectories[0])).Average(g => g.Trajectories[0].ToolCalls.Count) : 0,
        };
        if (config.PassK > 0 && sampled)
        {
            var groups = await RunGroupsAsync(config, items, version, $"eval-{label}-pass{config.PassK}", config.PassK, Math.Max(config.Temperature, 0.7), stop);
            metrics[$"eval/pass_at_{config.PassK}"] = groups.Average(g => g.Trajectories.Any(Solved) ? 1.0 : 0.0);
        }

        return (accuracy, metrics);
    }

    private async Task<EpisodeResult[]> RunGroupsAsync(RunConfig config, IReadOnlyList<TaskItem> items, long version, string label, int groupSize, double temperature, CancellationToken stop) =>
        await Task.WhenAll(items.Select((item, i) =>
            GrainFactory.GetGrain<IEpisodeGrain>($"{config.RunId}/{label}/{i}").RunAsync(
                new EpisodeSpec(config.PolicyId, config.Task, TaskCatalog.ToJson(item), groupSize, new SamplingSettings(temperature), config.Limits, unchecked((config.Seed * 31) + i), version),
                stop)));

    private static bool Solved(Trajectory trajectory) =>
        trajectory.RewardParts.TryGetValue(RewardParts.Correctness, out var correct) && correct >= 1.0;

    /// <summary>Per-step rollout metrics under their stable names (STYLE.md rule 20).</summary>
    public static Dictionary<string, double> RolloutMetrics(IReadOnlyList<Trajectory> trajectories, double rolloutSeconds)
    {
        var solved = trajectories.Where(Solved).ToList();
        var generated = trajectories.Sum(t => t.GeneratedTokenCount);
        var entropies = trajectories.SelectMany(t => t.Entropies.Where((_, i) => t.LossMask[i] == 1)).ToList();
        var rewardMean = trajectories.Average(t => t.Reward);
        var metrics = new Dictionary<string, double>
        {
            ["rollout/reward_mean"] = rewardMean,
            ["rollout/reward_std"] = Math.Sqrt(Math.Max(0, trajectories.Average(t => t.Reward * t.Reward) - (rewardMean * rewardMean))),
            ["rollout/accuracy"] = trajectories.Average(t => Solved(t) ? 1.0 : 0.0),
            ["rollout/entropy"] = entropies.Count == 0 ? 0 : entropies.Average(e => (double)e),
            ["rollout/response_tokens_mean"] = trajectories.Average(t => (double)t.GeneratedTokenCount),
            ["tools/calls_per_traj"] = trajectories.Average(t => t.ToolCalls.Count),
            ["tools/calls_per_solved"] = solved.Count == 0 ? 0 : solved.Average(t => t.ToolCalls.Count),
            ["tools/error_rate"] = trajectories.Sum(t => t.ToolCalls.Count) == 0 ? 0 : trajectories.Sum(t => t.ToolCalls.Count(c => c.IsError)) / (double)trajectories.Sum(t => t.ToolCalls.Count),
            ["perf/tokens_per_s"] = rolloutSeconds > 0 ? generated / rolloutSeconds : 0,
        };
        foreach (var part in trajectories.SelectMany(t => t.RewardParts.Keys).Distinct(StringComparer.Ordinal))
        {
            metrics[$"reward/{part}"] = trajectories.Average(t => t.RewardParts.GetValueOrDefault(part));
        }

        foreach (var reason in trajectories.GroupBy(t => t.FinishReason))
        {
            metrics[$"rollout/finish/{reason.Key}"] = reason.Count() / (double)trajectories.Count;
        }

        return metrics;
    }

    private void Set(string? state = null, string? phase = null, int? step = null)
    {
        _status = _status with { State = state ?? _status.State, Phase = phase ?? _status.Phase, Step = step ?? _status.Step };
        Notify();
    }
}

/// <summary>JSON settings of run configurations (camelCase, indented).</summary>
public static class RunJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };
}
