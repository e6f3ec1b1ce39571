using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// How a run gets to step 1: resumed after its last checkpoint, started from another run's warm start (<c>initFrom</c>),
/// or fresh — the initial evaluation of the random model, the warm start (SFT on demonstrations, <see cref="Pipeline.WarmStart.WarmStartRecipe"/>
/// on the trainer grain) and the evaluation of the warm-started model, then the step-0 checkpoint.
/// </summary>
public sealed class WarmStartPhase(RunContext run, RunProgressHub progress, EvaluationPhase evaluation, CheckpointPhase checkpoints, RunArtifacts artifacts, ILogger logger)
{
    /// <summary>Brings the trainer to where step <c>FirstStep</c> starts, at policy version <c>Version</c>.</summary>
    public async Task<(long Version, int FirstStep)> RunAsync(RunStateFile? resumed, long version, CancellationToken stop, CancellationToken stopRequest)
    {
        if (resumed is not null)
        {
            return (await ResumeAsync(resumed, stop), resumed.Step + 1);
        }

        version = string.IsNullOrEmpty(run.Config.InitFrom) ? await FreshAsync(version, stop, stopRequest) : await InitFromAsync(stop);
        progress.Set(phase: "Checkpoint");
        progress.Update(s => s with { Step = 0, PolicyVersion = version });
        await checkpoints.SaveAsync(progress.Current, progress.Current.WarmStartEvalAccuracy ?? progress.Current.InitialEvalAccuracy, null, stop);
        if (run.Config.RunsBaseline && string.IsNullOrEmpty(run.Config.InitFrom) && run.Config.SftDemonstrations > 0)
        {
            BaselinePhase.KeepWarmStart(run.RunDirectory);   // the equal-time baseline continues from it after the last step
        }

        return (version, 1);
    }

    private async Task<long> ResumeAsync(RunStateFile resumed, CancellationToken stop)
    {
        progress.Set(state: RunState.Resuming, phase: "LoadState", step: resumed.Step);
        var restored = await run.Trainer.LoadStateAsync(resumed.TrainerPath(run.RunDirectory), resumed.Step, stop);
        progress.Update(s => s with
        {
            PolicyVersion = restored.PolicyVersion,
            InitialEvalAccuracy = resumed.InitialEvalAccuracy,
            WarmStartEvalAccuracy = resumed.WarmStartEvalAccuracy,
            WarmStartLoss = resumed.WarmStartLoss,
            FinalEvalAccuracy = resumed.FinalEvalAccuracy,
            CheckpointLocation = restored.CheckpointLocation,
        });
        logger.LogInformation("Run {RunId}: resumed after step {Step} at version {Version}", run.Config.RunId, resumed.Step, restored.PolicyVersion);
        return restored.PolicyVersion;
    }

    private async Task<long> FreshAsync(long version, CancellationToken stop, CancellationToken stopRequest)
    {
        var config = run.Config;
        progress.Set(state: RunState.Evaluating, phase: "Evaluate");

        // A stop request abandons the warm start, from the initial evaluation to its last batch: it leaves no checkpoint
        // until it ends (the run ends Stopped, to be started again). The cancellation reaches the trainer grain's loop.
        using var warmStartStop = CancellationTokenSource.CreateLinkedTokenSource(stop, stopRequest);

        // Before a warm start the model is random: its greedy accuracy is the baseline; sampled pass@k of up to
        // MaxTurns × MaxNewTokensPerTurn random tokens per answer would cost minutes and say nothing more.
        var initial = await evaluation.RunAsync(version, "initial", warmStartStop.Token, sampled: config.SftDemonstrations == 0);
        progress.Update(s => s with { InitialEvalAccuracy = initial.Accuracy });
        artifacts.RecordStep(0, initial.Metrics);
        if (config.SftDemonstrations == 0)
        {
            return version;
        }

        progress.Update(s => s with { WarmStart = new WarmStartStatus { Stage = WarmStartStage.Demonstrations, Pass = 1, Total = config.SftDemonstrations } });
        progress.Set(state: RunState.WarmStart, phase: "WarmStart");
        var sft = await SftWithProgressAsync(Spec(config), warmStartStop.Token);

        progress.Set(phase: "Evaluate");
        var warm = await evaluation.RunAsync(sft.PolicyVersion, "warmstart", stop);
        progress.Update(s => s with
        {
            WarmStartEvalAccuracy = warm.Accuracy,
            WarmStartLoss = sft.Metrics.TryGetValue("sft/loss", out var loss) ? loss : null,
            PolicyVersion = sft.PolicyVersion,
            CheckpointLocation = sft.CheckpointLocation,
        });
        var metrics = new Dictionary<string, double>(warm.Metrics);
        foreach (var (key, value) in sft.Metrics)
        {
            metrics[key] = value;
        }

        artifacts.RecordStep(0, metrics);
        logger.LogInformation("Run {RunId}: warm start done, eval accuracy {Accuracy:P1}", config.RunId, warm.Accuracy);
        return sft.PolicyVersion;
    }

    /// <summary>How often the warm start's progress is read from the trainer while it runs.</summary>
    internal static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The warm start on the trainer grain; meanwhile its progress is read every <see cref="ProgressEvery"/>, pushed to the
    /// run's observers, and its batches written to <c>sft.csv</c> and TensorBoard (the last ones after it returns).
    /// </summary>
    private async Task<TrainResult> SftWithProgressAsync(SftSpec spec, CancellationToken cancellationToken)
    {
        artifacts.BeginWarmStart();
        var call = run.Trainer.SftAsync(spec, cancellationToken);
        var seen = 0;
        while (true)
        {
            var finished = await Task.WhenAny(call, Task.Delay(ProgressEvery, CancellationToken.None)) == call;
            try
            {
                var report = await run.Trainer.GetWarmStartProgressAsync(seen, CancellationToken.None);
                artifacts.RecordWarmStartBatches(report.Batches);
                seen += report.Batches.Count;
                progress.Update(s => s with { WarmStart = report.Status });
                progress.Notify();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Progress is for display; a poll that fails (a busy or lost trainer silo) leaves the warm start to its call.
                logger.LogDebug(e, "Run {RunId}: could not read the warm start's progress", run.Config.RunId);
            }

            if (finished)
            {
                return await call;
            }
        }
    }

    /// <summary>The warm start a run's configuration asks for.</summary>
    public static SftSpec Spec(RunConfig c) => new(
        c.Task, c.TaskOptions, c.SftDemonstrations, c.SftFlawedFraction, c.SftEpochs, c.SftLearningRate, c.Seed + 1000, c.SftFlaws,
        Math.Min(c.SftEchoExamples, c.SftDemonstrations), Math.Min(c.SftFlawPhaseDemonstrations, c.SftDemonstrations), c.SftFlawPhaseLearningRate,
        c.SftBatchSize, c.SftWarmupSteps, c.SftFlawPhaseWarmupSteps, RedrawResultShare: c.SftRedrawResultShare);

    /// <summary>
    /// <c>initFrom</c>: loads the warm-start checkpoint of another run into the trainer, carries over its evaluations and
    /// step-0 metrics rows, and returns the policy version the trainer published for it.
    /// </summary>
    private async Task<long> InitFromAsync(CancellationToken stop)
    {
        var config = run.Config;
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

        progress.Set(state: RunState.Resuming, phase: "LoadState");
        var restored = await run.Trainer.LoadStateAsync(source.TrainerPath(sourceDir), null, stop);
        progress.Update(s => s with
        {
            PolicyVersion = restored.PolicyVersion,
            InitialEvalAccuracy = source.InitialEvalAccuracy,
            WarmStartEvalAccuracy = source.WarmStartEvalAccuracy,
            WarmStartLoss = source.WarmStartLoss,
            CheckpointLocation = restored.CheckpointLocation,
        });

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
}
