using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Storage;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Grains.Training.Phases;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Checkpoints;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentRl.Grains.Training;

/// <summary>
/// One training run. A step reads top to bottom as named, timed phases — Rollout → Reward → Advantage → Update →
/// PublishWeights → Evaluate → Checkpoint — each a call into its own class (<see cref="Phases"/>). The loop runs in the
/// background; status calls interleave with it.
/// </summary>
/// <remarks>
/// Fault tolerance: the configuration and an "active" flag are kept in grain storage and a reminder ticks while the run
/// goes. When the run's silo is lost, the reminder (or any call) activates the grain on another silo, which takes the run
/// up again after the last checkpointed step. A step whose calls fail because another silo was lost is redone from the
/// last checkpoint in place (<see cref="SiloLoss"/>). Each take-over raises a fencing epoch (<see cref="RunFence"/>).
/// </remarks>
public sealed class TrainingRunGrain : Grain, ITrainingRunGrain, IRemindable
{
    private const string ReminderName = "agentrl.run-keepalive";
    private readonly TaskCatalog _tasks;
    private readonly IPersistentState<RunGrainState> _saved;
    private readonly AgentRlSiloOptions _siloOptions;
    private readonly ILogger<TrainingRunGrain> _logger;
    private readonly RunProgressHub _progress;
    private CancellationTokenSource? _stop;
    private CancellationTokenSource _stopRequest = new();   // StopAsync: between steps, and at once for a warm start
    private bool _deactivating;
    private Task? _loop;
    private RunConfig? _config;

    private readonly CheckpointStoreOptions _storeConnection;
    private (CheckpointStoreSpec Spec, BlobRunStore Store)? _runStore;

    public TrainingRunGrain(TaskCatalog tasks, [PersistentState("run", AgentRlStorage.Name)] IPersistentState<RunGrainState> saved, AgentRlSiloOptions siloOptions, IOptions<CheckpointStoreOptions> storeConnection, ILogger<TrainingRunGrain> logger)
    {
        (_tasks, _saved, _siloOptions, _storeConnection, _logger) = (tasks, saved, siloOptions, storeConnection.Value, logger);
        _progress = new RunProgressHub(siloOptions.ProgressSubscriptionLifetime, () => _saved.State.Epoch, () => GrainContext.Address.SiloAddress?.ToString() ?? "");
    }

    public async Task StartAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        if (_loop is { IsCompleted: false } && !_progress.Current.IsFinished)
        {
            throw new InvalidOperationException($"Run {this.GetPrimaryKeyString()} is already running.");
        }

        await (_loop ?? Task.CompletedTask);   // a finished run may still be recording its end in grain storage
        var problems = config.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid run configuration: " + string.Join("; ", problems));
        }

        config = config with { RunId = this.GetPrimaryKeyString() };
        await PullAsync(config, cancellationToken);   // a blob-stored run: its run_state.json (epoch, resume point) may be on no disk here
        ResolvedAlgorithm.ForRun(config);   // an unknown algorithm or option fails the start, not the run
        _tasks.GetForRun(config.Task, config.TaskOptions, config.WarmStarts());   // so does an unknown task, task option or tool, bad data, or a task that cannot warm start
        _saved.State = new RunGrainState { Config = config, Active = true, Epoch = NextEpoch(config), StartId = Guid.NewGuid().ToString("N") };
        await _saved.WriteStateAsync(cancellationToken);
        await this.RegisterOrUpdateReminder(ReminderName, _siloOptions.RunReminderPeriod, _siloOptions.RunReminderPeriod);
        Begin(config, takeOver: false);
    }

    /// <summary>A run that was going when its previous activation was lost is taken up again here.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_saved.State is not { Active: true, Config: { } config })
        {
            return;
        }

        // A blob-stored run's files first: whether it ended, and its epoch, are in run_state.json. If the store cannot be
        // read the activation fails, and the keep-alive reminder's next tick tries the take-over again.
        await PullAsync(config, cancellationToken);

        if (RunFence.EndedInFiles(RunDirectory(config), _saved.State.StartId, _saved.State.Epoch) is { } ended)
        {
            // Lost after recording its end in run_state.json but before grain storage: it stays ended.
            _logger.LogInformation("Run {RunId}: already {State} in run_state.json; not taken up again", config.RunId, ended);
            _saved.State = _saved.State with { Active = false };
            await _saved.WriteStateAsync(cancellationToken);
            return;
        }

        _saved.State = _saved.State with { Epoch = NextEpoch(config), Recoveries = _saved.State.Recoveries + 1 };
        await _saved.WriteStateAsync(cancellationToken);
        _logger.LogWarning("Run {RunId}: taken up again on {Silo} (epoch {Epoch}) after its previous activation was lost", config.RunId, _progress.Current.Silo, _saved.State.Epoch);
        Begin(config, takeOver: true);
    }

    /// <summary>The keep-alive reminder: its tick is what activates the run on a surviving silo; a finished run drops it.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName && !_saved.State.Active && _loop is not { IsCompleted: false })
        {
            await UnregisterKeepAliveAsync();
        }
    }

    public Task<RunStatus> GetStatusAsync(CancellationToken cancellationToken = default) => Task.FromResult(_progress.Current);

    /// <summary>
    /// Stops after the step in flight. A warm start in flight is abandoned at its next batch (it can take many minutes and
    /// leaves no checkpoint until it ends): the run ends Stopped with no checkpoint, to be started again rather than resumed.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopRequest.Cancel();
        return Task.CompletedTask;
    }

    public Task SubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default) => _progress.SubscribeAsync(observer);

    public Task UnsubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default)
    {
        _progress.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    /// <summary>A deactivating run stops at once; it stays active in grain storage, so its reminder takes it up elsewhere.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true;
        _stop?.Cancel();
        return Task.CompletedTask;
    }

    private void Begin(RunConfig config, bool takeOver)
    {
        (_stop, _stopRequest, _config) = (new CancellationTokenSource(), new CancellationTokenSource(), config);
        _progress.Reset(new RunStatus { RunId = config.RunId, State = takeOver ? RunState.Resuming : RunState.Starting, Steps = config.Steps, RunDirectory = RunDirectory(config), Recoveries = _saved.State.Recoveries });
        _loop = RunLoopAsync(config, takeOver, _saved.State.Epoch, _stop.Token);
    }

    /// <summary>The run to its end state; an attempt that fails because a silo was lost is redone from the last checkpoint.</summary>
    private async Task RunLoopAsync(RunConfig config, bool takeOver, long epoch, CancellationToken stop)
    {
        var runDir = RunDirectory(config);
        var outage = new OutageClock(config.StorageOutageTimeout);
        var siloLoss = new OutageClock(SiloLoss.RecoveryWindow);
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            try
            {
                var (attempt, resetMetrics) = takeOver ? RunFence.TakeOverConfig(config, runDir, _saved.State.StartId) : (config, false);
                await RunAttemptAsync(attempt, resetMetrics, epoch, stop);
                break;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || _stopRequest.IsCancellationRequested)
            {
                _progress.Set(state: RunState.Stopped, phase: "");
                break;
            }
            catch (RunSupersededException e)
            {
                _logger.LogWarning("Run {RunId}: {Reason}", config.RunId, e.Message);   // a newer activation owns the run: write nothing more
                return;
            }
            catch (Exception e) when (SiloLoss.Is(e) && siloLoss.Failed(DateTimeOffset.UtcNow, _progress.Current.Step) is { } delay)
            {
                // Until the cluster declares the lost silo dead (seconds to tens of seconds), calls may still go to it: the
                // attempts back off (2 s doubling to 30 s) for as long as the recovery window, longer than the detection.
                _saved.State = _saved.State with { Recoveries = _saved.State.Recoveries + 1 };
                _progress.Update(s => s with { Recoveries = _saved.State.Recoveries });
                _logger.LogWarning(e, "Run {RunId}: a silo was lost during {Phase}; redoing from the last checkpoint in {Delay} (attempt {Attempt})", config.RunId, _progress.Current.Phase, delay, attemptNumber + 1);
                takeOver = true;
                _progress.Set(state: RunState.Resuming, phase: "");
                if (!await WaitAsync(delay, stop))
                {
                    break;
                }
            }
            catch (Exception e) when (StorageOutage.Is(e) && !_stopRequest.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                if (!await WaitOutStorageAsync(config, outage, e, stop))
                {
                    break;
                }

                takeOver = true;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Run {RunId} failed", config.RunId);
                _progress.Update(s => s with { State = RunState.Failed, Error = e.Message });
                break;
            }
        }

        if (!_deactivating)
        {
            await RecordEndAsync(config, runDir, epoch);   // a deactivating silo leaves the run active: it goes on elsewhere
        }
    }

    /// <summary>
    /// A storage outage: the run is Paused, saying which storage and when it tries again, and waits (2 s doubling to 30 s);
    /// true to try again from the last checkpoint, false when the run ended: it failed, the outage having outlasted
    /// <see cref="RunConfig.StorageOutageTimeout"/>, or it was stopped while it waited.
    /// </summary>
    private async Task<bool> WaitOutStorageAsync(RunConfig config, OutageClock outage, Exception error, CancellationToken stop)
    {
        var reason = StorageOutage.Reason(error);
        var wait = outage.Failed(DateTimeOffset.UtcNow, _progress.Current.Step);
        if (wait is not { } delay)
        {
            _logger.LogError(error, "Run {RunId}: storage unreachable for longer than storageOutageTimeout {Timeout}", config.RunId, config.StorageOutageTimeout);
            _progress.Update(s => s with { State = RunState.Failed, Phase = "", Error = $"storage unreachable for longer than storageOutageTimeout ({config.StorageOutageTimeout:c}): {reason}" });
            return false;
        }

        var since = outage.Since!.Value;
        _logger.LogWarning("Run {RunId}: storage unreachable since {Since:u} ({Reason}); paused, trying again from the last checkpoint in {Delay}", config.RunId, since, reason, delay);
        _progress.Update(s => s with { State = RunState.Paused, Phase = $"storage unreachable since {since:HH:mm:ss} UTC, next try in {delay.TotalSeconds:0} s, fails after {config.StorageOutageTimeout:c}: {reason}" });
        if (!await WaitAsync(delay, stop))
        {
            return false;
        }

        _progress.Set(state: RunState.Resuming, phase: "");
        return true;
    }

    /// <summary>Waits before the next attempt; false, with the run Stopped, when a stop request or deactivation ends the wait.</summary>
    private async Task<bool> WaitAsync(TimeSpan delay, CancellationToken stop)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stop, _stopRequest.Token);
        try
        {
            await Task.Delay(delay, waiting.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            _progress.Set(state: RunState.Stopped, phase: "");
            return false;
        }
    }

    /// <summary>One attempt at the run: from the start, or after the last checkpoint (<see cref="RunConfig.Resume"/>), to its end state.</summary>
    private async Task RunAttemptAsync(RunConfig config, bool resetMetrics, long epoch, CancellationToken stop)
    {
        var runDir = RunDirectory(config);
        var resumed = config.Resume ? ResumePoint(runDir) : null;
        using var artifacts = new RunArtifacts(runDir, resumed is not null ? new RunArtifactsOptions { ResumeAfterStep = resumed.Step } : resetMetrics ? new RunArtifactsOptions { ResumeAfterStep = -1 } : null);
        await File.WriteAllTextAsync(Path.Combine(runDir, "config.json"), System.Text.Json.JsonSerializer.Serialize(config.WithoutSecrets(), RunJson.Options), stop);
        var run = new RunContext(config, ResolvedAlgorithm.ForRun(config), _tasks.Get(config.Task, config.TaskOptions), GrainFactory.GetGrain<ITrainerGrain>(config.PolicyId), GrainFactory, runDir);
        var (rollout, reward, advantage, update, publish, evaluation, checkpoints) = (new RolloutPhase(run), new RewardPhase(run), new AdvantagePhase(run), new UpdatePhase(run), new PublishWeightsPhase(run), new EvaluationPhase(run), new CheckpointPhase(run, epoch, _saved.State.StartId));
        var pool = config.Swarm is null ? null : new PoolPhase(run, rollout, reward, _logger);
        long version;
        using (config.AllowCpuTraining ? PlacementRequestContext.AllowCpuTrainer() : null)
        {
            version = await run.Trainer.InitializeAsync(TrainerSpecOf(config), stop).ExplainTrainerPlacementFailure();
        }

        (version, var firstStep) = await new WarmStartPhase(run, _progress, evaluation, checkpoints, artifacts, _logger).RunAsync(resumed, version, stop, _stopRequest.Token);
        await PushAsync(config, stop);
        var steps = config.SftOnly ? 0 : config.Steps;
        _progress.Update(s => s with { Steps = steps });
        using var producer = config.StreamsRollouts ? new AsyncRolloutPhase(run, rollout, AsyncStateAt(resumed, firstStep - 1, config.PromptsPerStep), stop) : null;
        var stepClock = Stopwatch.StartNew();
        for (var step = firstStep; step <= steps && !_stopRequest.IsCancellationRequested; step++)
        {
            stop.ThrowIfCancellationRequested();
            using var stepSpan = AgentRlTelemetry.StartStep(config.RunId, step, version);
            _progress.Set(state: RunState.Training, phase: "Rollout", step: step);
            var clock = new PhaseClock(config.RunId, step, phase => _progress.Set(phase: phase), _logger);
            var groups = await clock.RunAsync("Rollout", () => producer?.CollectAsync(version, stop) ?? rollout.CollectAsync(step, version, stop));
            // A swarm step's Pool phase shapes its fill and external groups too, then updates the KL controller once.
            var scored = await clock.RunAsync("Reward", () => pool is null ? reward.ScoreAsync(groups, stop) : reward.ShapeAsync(groups, stop));
            var mix = pool is null ? null : await clock.RunAsync("Pool", () => pool.MixAsync(step, version, groups, scored, stop));
            scored = mix?.Scored ?? scored;
            IReadOnlyList<EpisodeResult> ownGroups = mix is null ? groups.Groups : [.. groups.Groups, .. mix.FillGroups];   // a swarm's fill groups are its own too
            var (batch, advantages) = clock.Run("Advantage", () => advantage.Build(scored));
            var updated = await clock.RunAsync("Update", () => update.RunAsync(batch, stop));
            var location = await clock.RunAsync("PublishWeights", () => publish.RunAsync(updated is not null, stop));
            version = updated?.PolicyVersion ?? version;
            producer?.Advance();
            var eval = evaluation.IsDue(step, steps) ? await clock.RunAsync("Evaluate", () => evaluation.RunAsync(version, $"step{step}", stop)) : null;
            _progress.Update(s => s with { Step = step, PolicyVersion = version, FinalEvalAccuracy = eval?.Accuracy ?? s.FinalEvalAccuracy, CheckpointLocation = location ?? s.CheckpointLocation });

            // The step's metrics.csv and groups.csv rows before the checkpoint that commits it: a silo lost in between
            // leaves rows past the checkpoint, which the resumed run drops and writes again (in the other order they were lost).
            RunFence.EnsureCurrent(runDir, epoch);
            artifacts.RecordValues(step, StepMetrics.Combine(groups, scored, advantages, updated, eval, version, clock));
            artifacts.RecordGroups(step, mix is null ? ownGroups : [.. ownGroups, .. mix.ExternalGroups]);
            await clock.RunAsync("Checkpoint", () => checkpoints.SaveAsync(_progress.Current, eval?.Accuracy, producer?.Snapshot(), stop));
            var metrics = StepMetrics.Combine(groups, scored, advantages, updated, eval, version, clock);
            RunFence.EnsureCurrent(runDir, epoch);
            artifacts.RecordTimings(step, metrics);
            AgentRlTelemetry.RecordStep(config.RunId, metrics);
            artifacts.RecordSamples(step, scored.Trajectories, rollout.ItemOf);
            rollout.Forget(ownGroups.Select(g => g.EpisodeId));
            await PushAsync(config, stop);

            _progress.Update(s => s with { Metrics = metrics, MetricsStep = step, EtaSeconds = stepClock.Elapsed.TotalSeconds / (step - firstStep + 1) * (steps - step) });
            _progress.Notify();
            _logger.LogInformation("Run {RunId} step {Step}: reward {Reward:0.000}, accuracy {Accuracy:P1}", config.RunId, step, metrics.GetValueOrDefault("rollout/reward_mean"), metrics.GetValueOrDefault("rollout/accuracy"));
        }

        artifacts.RenderPlot();
        var done = _progress.Current.Step >= steps || (config.SftOnly && !_stopRequest.IsCancellationRequested);
        if (done && config.RunsBaseline && !_stopRequest.IsCancellationRequested)
        {
            var baseline = await new BaselinePhase(run, _progress, evaluation, _logger).RunAsync(stop, _stopRequest.Token);
            CheckpointPhase.RecordBaseline(runDir, epoch, baseline);   // in the file before the status says Completed
            if (baseline is { EvalAccuracy: { } sftAccuracy, WarmStartEvalAccuracy: { } warmAccuracy })
            {
                artifacts.RecordBaseline(steps, warmAccuracy, sftAccuracy);
            }
        }

        _progress.Set(state: done ? RunState.Completed : RunState.Stopped, phase: "");
    }

    /// <summary>
    /// Where an async run's stream starts: the checkpoint's, or — resuming a checkpoint written without one (the warm start's,
    /// or a sync run's) — every slot of the <paramref name="stepsDone"/> trained steps consumed and none in flight.
    /// </summary>
    private static AsyncRolloutState? AsyncStateAt(RunStateFile? resumed, int stepsDone, int promptsPerStep) =>
        resumed?.Async ?? (stepsDone <= 0 ? null : new AsyncRolloutState { ConsumedFrontier = (long)stepsDone * promptsPerStep, NextSlot = (long)stepsDone * promptsPerStep, Version = stepsDone });

    private static TrainerSpec TrainerSpecOf(RunConfig c) =>
        new(c.RunId, c.Algorithm, c.LearningRate, c.Steps, c.TokenBudget, c.Seed, Path.GetFullPath(c.RunDir), c.ResolveCheckpointStore(), LoadsState: c.Resume || !string.IsNullOrEmpty(c.InitFrom), c.Objective, c.Trainer, c.ResolveRunStore());

    /// <summary>A blob-stored run's files (<see cref="RunConfig.RunStore"/>) into its folder here, where the store's are newer.</summary>
    private async Task PullAsync(RunConfig config, CancellationToken cancellationToken)
    {
        if (RunStoreOf(config) is { } store && await store.PullAsync(RunDirectory(config), cancellationToken) is > 0 and var pulled)
        {
            _logger.LogInformation("Run {RunId}: pulled {Count} files from {Store}", config.RunId, pulled, store.Description);
        }
    }

    /// <summary>The step's files to a blob-stored run's store, run_state.json last (fenced by the epoch).</summary>
    private Task PushAsync(RunConfig config, CancellationToken cancellationToken) =>
        RunStoreOf(config)?.PushAsync(RunDirectory(config), cancellationToken) ?? Task.CompletedTask;

    /// <summary>The run's blob store, built once per store a configuration names (its client and container check are reused).</summary>
    private BlobRunStore? RunStoreOf(RunConfig config)
    {
        if (config.ResolveRunStore() is not { } spec)
        {
            return null;
        }

        if (_runStore?.Spec != spec)
        {
            _runStore = (spec, BlobRunStore.Create(spec, _storeConnection));
        }

        return _runStore.Value.Store;
    }

    /// <summary>Resume: the last step whose trainer state was saved; metrics.csv drops any later rows.</summary>
    private static RunStateFile ResumePoint(string runDir)
    {
        var resumed = RunStateFile.Read(runDir) ?? throw new InvalidOperationException($"{Path.Combine(runDir, RunStateFile.FileName)} not found: the run has no checkpoint to resume from.");
        return resumed.HasTrainerState ? resumed : throw new InvalidOperationException($"{runDir}: run_state.json names no trainer state to resume from.");
    }

    /// <summary>The end state goes to run_state.json (keeping the last checkpointed step), to observers, then to grain storage.</summary>
    private async Task RecordEndAsync(RunConfig config, string runDir, long epoch)
    {
        try
        {
            CheckpointPhase.RecordEnd(runDir, epoch, _saved.State.StartId, _progress.Current, _config);
            await PushAsync(config, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or RunSupersededException)
        {
            _logger.LogWarning(e, "Run {RunId}: could not record the final state in {Directory}", config.RunId, runDir);
        }

        _progress.Notify();
        _saved.State = _saved.State with { Active = false };
        try
        {
            await _saved.WriteStateAsync(CancellationToken.None);
            await UnregisterKeepAliveAsync();
        }
        catch (Exception e)
        {
            // The reminder drops itself on its next tick once the state says the run is not active.
            _logger.LogWarning(e, "Run {RunId}: could not record the end of the run in grain storage", config.RunId);
        }
    }

    private long NextEpoch(RunConfig config) =>
        RunFence.NextEpoch(RunDirectory(config), _saved.State.Epoch, e => _logger.LogWarning(e, "Run {RunId}: could not read run_state.json for its epoch", config.RunId));

    /// <summary>Whether a fresh start of the run builds demonstrations (a warm start that is not taken from another run).</summary>

    private static string RunDirectory(RunConfig config) => Path.GetFullPath(Path.Combine(config.RunDir, config.RunId));

    private async Task UnregisterKeepAliveAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }
}
