using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
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
public sealed class TrainingRunGrain(TaskCatalog tasks, ILogger<TrainingRunGrain> logger) : Grain, ITrainingRunGrain
{
    private RunStatus _status = new() { RunId = "", State = "Pending" };
    private CancellationTokenSource? _stop;
    private volatile bool _stopRequested;
    private Task? _loop;
    private readonly Stopwatch _clock = new();

    public Task StartAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        if (_loop is { IsCompleted: false })
        {
            throw new InvalidOperationException($"Run {this.GetPrimaryKeyString()} is already running.");
        }

        var problems = config.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid run configuration: " + string.Join("; ", problems));
        }

        config = config with { RunId = this.GetPrimaryKeyString() };
        _stop = new CancellationTokenSource();
        _stopRequested = false;
        _clock.Restart();
        _status = new RunStatus { RunId = config.RunId, State = "Starting", Steps = config.Steps, RunDirectory = Path.GetFullPath(Path.Combine(config.RunDir, config.RunId)) };
        _loop = RunLoopAsync(config, _stop.Token);
        return Task.CompletedTask;
    }

    public Task<RunStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(_status with { ElapsedSeconds = _clock.Elapsed.TotalSeconds });

    /// <summary>Stops after the step in flight: the loop checks the request between steps (and after the warm start).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopRequested = true;
        return Task.CompletedTask;
    }

    /// <summary>A deactivating run stops at once (the step in flight is lost; the last checkpoint stays resumable).</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _stop?.Cancel();
        return Task.CompletedTask;
    }

    private async Task RunLoopAsync(RunConfig config, CancellationToken stop)
    {
        var runDir = _status.RunDirectory;
        var trainerDir = Path.Combine(runDir, RunStateFile.TrainerDirectoryName);
        try
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

            using var artifacts = new RunArtifacts(runDir, resumed is null ? null : new RunArtifactsOptions { ResumeAfterStep = resumed.Step });
            await File.WriteAllTextAsync(Path.Combine(runDir, "config.json"), System.Text.Json.JsonSerializer.Serialize(config, RunJson.Options), stop);
            var task = tasks.Get(config.Task, config.TaskOptions);
            var trainer = GrainFactory.GetGrain<ITrainerGrain>(config.PolicyId);
            var spec = new TrainerSpec(config.RunId, config.Algorithm, config.LearningRate, config.Steps, config.TokenBudget, config.Seed, Path.GetFullPath(config.RunDir), config.EpisodeBranching()?.Attribution ?? "soft");
            using (config.AllowCpuTraining ? PlacementRequestContext.AllowCpuTrainer() : null)
            {
                await trainer.InitializeAsync(spec, stop).ExplainTrainerPlacementFailure();
            }

            var evalItems = task.Generate(TaskSplit.Eval, config.EvalSize, config.Seed);
            long version = 0;
            var firstStep = 1;
            if (resumed is not null)
            {
                Set(state: "Resuming", phase: "LoadState", step: resumed.Step);
                var restored = await trainer.LoadStateAsync(trainerDir, stop);
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
            else
            {
                Set(state: "Evaluating", phase: "Evaluate");
                var initial = await EvaluateAsync(config, evalItems, version, "initial", stop);
                _status = _status with { InitialEvalAccuracy = initial.Accuracy };
                artifacts.RecordStep(0, initial.Metrics);

                if (config.SftDemonstrations > 0)
                {
                    Set(state: "WarmStart", phase: "WarmStart");
                    var sft = await trainer.SftAsync(new SftSpec(config.Task, config.TaskOptions, config.SftDemonstrations, config.SftFlawedFraction, config.SftEpochs, config.SftLearningRate, config.Seed + 1000, config.SftFlaws), stop);
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
                await CheckpointAsync(config, trainer, runDir, trainerDir, 0, version, stop);
            }

            var steps = config.SftOnly ? 0 : config.Steps;
            _status = _status with { Steps = steps };
            var trainItems = task.Generate(TaskSplit.Train, Math.Max(1, config.Steps * config.PromptsPerStep), config.Seed + 1);
            var stepClock = Stopwatch.StartNew();
            for (var step = firstStep; step <= steps && !_stopRequested; step++)
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
                await CheckpointAsync(config, trainer, runDir, trainerDir, step, version, stop);
                phases["Checkpoint"] = clock.Elapsed.TotalSeconds;
                foreach (var (phase, seconds) in phases)
                {
                    metrics[$"perf/phase/{phase}_s"] = seconds;
                }

                artifacts.RecordStep(step, metrics);
                foreach (var trajectory in trajectories.Take(2))
                {
                    artifacts.RecordTrajectory(new { step, trajectory.GroupId, trajectory.BranchPath, trajectory.ParentPath, trajectory.ForkPosition, trajectory.Depth, trajectory.Reward, trajectory.RewardParts, trajectory.FinishReason, trajectory.Conversation, trajectory.TokenIds, trajectory.LossMask });
                }

                var perStep = stepClock.Elapsed.TotalSeconds / (step - firstStep + 1);
                _status = _status with { Metrics = metrics, PolicyVersion = version, EtaSeconds = perStep * (steps - step) };
                logger.LogInformation("Run {RunId} step {Step}: reward {Reward:0.000}, accuracy {Accuracy:P1}", config.RunId, step, metrics["rollout/reward_mean"], metrics["rollout/accuracy"]);
            }

            artifacts.RenderPlot();
            var done = _status.Step >= steps || (config.SftOnly && !_stopRequested);
            Set(state: done ? "Completed" : "Stopped", phase: "");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Set(state: "Stopped", phase: "");
        }
        catch (Exception e)
        {
            logger.LogError(e, "Run {RunId} failed", config.RunId);
            _status = _status with { State = "Failed", Error = e.Message };
        }

        RecordFinalState(runDir);
    }

    /// <summary>Checkpoint phase: the trainer state (model + AdamW) to <c>trainer/</c>, then <c>run_state.json</c> naming it.</summary>
    private async Task CheckpointAsync(RunConfig config, ITrainerGrain trainer, string runDir, string trainerDir, int step, long version, CancellationToken stop)
    {
        await trainer.SaveStateAsync(trainerDir, stop);
        _status = _status with { Step = step, PolicyVersion = version };
        StateFile(config, step, "Training", hasTrainerState: true).Write(runDir);
        _lastConfig = config;
    }

    private RunConfig? _lastConfig;

    /// <summary>The end state goes into <c>run_state.json</c> too, keeping the last checkpointed step.</summary>
    private void RecordFinalState(string runDir)
    {
        try
        {
            var previous = RunStateFile.Read(runDir);
            var config = previous?.Config ?? _lastConfig;
            if (config is null)
            {
                return;
            }

            (StateFile(config, previous?.Step ?? 0, _status.State, previous?.HasTrainerState ?? false) with { PolicyVersion = previous?.PolicyVersion ?? 0 }).Write(runDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            logger.LogWarning(e, "Run {RunId}: could not record the final state in {Directory}", _status.RunId, runDir);
        }
    }

    private RunStateFile StateFile(RunConfig config, int step, string state, bool hasTrainerState) => new()
    {
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

    private async Task<(double Accuracy, Dictionary<string, double> Metrics)> EvaluateAsync(RunConfig config, IReadOnlyList<TaskItem> items, long version, string label, CancellationToken stop)
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
        if (config.PassK > 0)
        {
            var sampled = await RunGroupsAsync(config, items, version, $"eval-{label}-pass{config.PassK}", config.PassK, Math.Max(config.Temperature, 0.7), stop);
            metrics[$"eval/pass_at_{config.PassK}"] = sampled.Average(g => g.Trajectories.Any(Solved) ? 1.0 : 0.0);
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
        var metrics = new Dictionary<string, double>
        {
            ["rollout/reward_mean"] = trajectories.Average(t => t.Reward),
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

    private void Set(string? state = null, string? phase = null, int? step = null) =>
        _status = _status with { State = state ?? _status.State, Phase = phase ?? _status.Phase, Step = step ?? _status.Step };
}

/// <summary>JSON settings of run configurations (camelCase, indented).</summary>
public static class RunJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };
}
