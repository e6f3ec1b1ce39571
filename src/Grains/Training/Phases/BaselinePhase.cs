using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The equal-time SFT baseline (<see cref="RunConfig.Baseline"/> <c>sft-equal-time</c>), after the run's last step: what
/// the warm start alone reaches when it trains on for as long as the RL steps took.
/// <list type="number">
/// <item>The RL seconds: every phase of every step but Evaluate, summed from <c>timings.csv</c> (so a resumed run counts
/// the steps of its earlier attempts too).</item>
/// <item>The trainer takes the warm start's state (<c>warmstart/</c>, saved at step 0, or <c>initFrom</c>'s trainer
/// state) and runs the same recipe on fresh demonstrations — a new seed, the schedule restarted and planned over the
/// steps that fit at the warm start's own seconds per step — stopping when the RL seconds are spent.</item>
/// <item>The held-out evaluation of that model (the same items as every evaluation of the run).</item>
/// <item>The trainer goes back to the run's last state and publishes it, so the policy served after the run is the RL one.</item>
/// </list>
/// A failure or a stop request ends the baseline, not the run: its result says so and the trainer is put back.
/// </summary>
public sealed class BaselinePhase(RunContext run, RunProgressHub progress, EvaluationPhase evaluation, ILogger logger)
{
    /// <summary>The seed offset of the baseline's demonstrations from the warm start's, so it sees fresh ones.</summary>
    public const int SeedOffset = 7919;

    public async Task<BaselineResult> RunAsync(CancellationToken stop, CancellationToken stopRequest)
    {
        var config = run.Config;
        var status = progress.Current;
        var result = new BaselineResult { WarmStartEvalAccuracy = status.WarmStartEvalAccuracy, RlEvalAccuracy = status.FinalEvalAccuracy };
        var rlSeconds = RlSeconds(run.RunDirectory);
        result = result with { RlSeconds = rlSeconds };
        progress.Update(s => s with { Baseline = result with { State = RunState.Training } });
        progress.Set(phase: "Baseline");
        progress.Notify();
        using var baselineStop = CancellationTokenSource.CreateLinkedTokenSource(stop, stopRequest);
        var touched = false;
        try
        {
            var (warmStartState, secondsPerStep) = WarmStartOf(config, run.RunDirectory);
            var planned = Math.Max(1, (int)Math.Ceiling(rlSeconds / secondsPerStep));
            touched = true;
            await run.Trainer.LoadStateAsync(warmStartState, null, baselineStop.Token);
            var sft = await run.Trainer.SftAsync(Spec(config, rlSeconds, planned), baselineStop.Token);
            var eval = await evaluation.RunAsync(sft.PolicyVersion, "baseline", baselineStop.Token, sampled: false);
            var metrics = new Dictionary<string, double>(eval.Metrics);
            foreach (var (key, value) in sft.Metrics)
            {
                metrics[key] = value;
            }

            result = result with
            {
                State = RunState.Completed,
                SftSeconds = sft.Metrics.GetValueOrDefault("sft/wall_seconds"),
                SftSteps = (int)sft.Metrics.GetValueOrDefault("sft/steps"),
                PlannedSteps = planned,
                EvalAccuracy = eval.Accuracy,
                Metrics = metrics,
            };
            logger.LogInformation("Run {RunId}: equal-time SFT baseline {Accuracy:P1} after {Steps} SFT steps in {Seconds:0.0} s (RL {RlSeconds:0.0} s, {Rl:P1})", config.RunId, eval.Accuracy, result.SftSteps, result.SftSeconds, rlSeconds, result.RlEvalAccuracy);
        }
        catch (OperationCanceledException) when (stopRequest.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            result = result with { State = RunState.Stopped, Error = "stopped during the baseline" };
        }
        catch (Exception e) when (e is not OperationCanceledException && !SiloLoss.Is(e))
        {
            logger.LogWarning(e, "Run {RunId}: the equal-time SFT baseline failed", config.RunId);
            result = result with { State = RunState.Failed, Error = e.Message };
        }

        if (touched)
        {
            await RestoreAsync(stop);
        }

        Write(run.RunDirectory, result);
        progress.Update(s => s with { Baseline = result });
        return result;
    }

    /// <summary>The run's last trainer state back on the trainer, published: the policy the run leaves behind is its RL one.</summary>
    private async Task RestoreAsync(CancellationToken stop)
    {
        var file = RunStateFile.Read(run.RunDirectory) ?? throw new InvalidOperationException($"{run.RunDirectory}: {RunStateFile.FileName} is gone; cannot put the trainer back after the baseline.");
        var restored = await run.Trainer.LoadStateAsync(file.TrainerPath(run.RunDirectory), file.Step, stop);
        progress.Update(s => s with { PolicyVersion = restored.PolicyVersion, CheckpointLocation = restored.CheckpointLocation ?? s.CheckpointLocation });
    }

    /// <summary>The warm start's recipe again, on fresh demonstrations, within <paramref name="seconds"/>, its schedule over <paramref name="plannedSteps"/>.</summary>
    public static SftSpec Spec(RunConfig config, double seconds, int plannedSteps)
    {
        var spec = WarmStartPhase.Spec(config);
        return spec with
        {
            Seed = spec.Seed + SeedOffset,
            TimeBudgetSeconds = seconds,
            PlannedSteps = plannedSteps,

            // Examples for the planned steps, echo examples in the warm start's proportion; more epochs over them if this
            // machine runs faster now than in the warm start (the budget, not the data, ends the pass).
            Demonstrations = Math.Max(spec.BatchSize, (int)Math.Ceiling((double)plannedSteps * spec.BatchSize * spec.Demonstrations / (spec.Demonstrations + spec.EchoExamples))),
            EchoExamples = spec.EchoExamples == 0 ? 0 : Math.Max(1, (int)Math.Ceiling((double)plannedSteps * spec.BatchSize * spec.EchoExamples / (spec.Demonstrations + spec.EchoExamples))),
            Epochs = 1000,
            FlawPhaseDemonstrations = 0,
            WarmupSteps = Math.Min(spec.WarmupSteps, Math.Max(0, plannedSteps / 10)),
        };
    }

    /// <summary>The RL steps' wall time: the sum of every phase column of <c>timings.csv</c> but Evaluate.</summary>
    public static double RlSeconds(string runDirectory)
    {
        var path = Path.Combine(runDirectory, RunArtifacts.TimingsFileName);
        if (!File.Exists(path))
        {
            return 0;
        }

        return MetricsCsvWriter.Read(path)
            .Where(r => r.Step > 0)
            .Sum(r => r.Values.Where(kv => kv.Key.StartsWith("perf/phase/", StringComparison.Ordinal) && kv.Key != "perf/phase/Evaluate_s" && double.IsFinite(kv.Value)).Sum(kv => kv.Value));
    }

    /// <summary>
    /// The warm start's trainer state and its seconds per SFT step (its <c>sft/wall_seconds</c> over <c>sft/steps</c>,
    /// from the step-0 rows of <c>timings.csv</c> and <c>metrics.csv</c>): this run's own, or <c>initFrom</c>'s.
    /// </summary>
    private static (string State, double SecondsPerStep) WarmStartOf(RunConfig config, string runDirectory)
    {
        string state, source;
        if (string.IsNullOrEmpty(config.InitFrom))
        {
            (state, source) = (Path.Combine(runDirectory, RunStateFile.WarmStartDirectoryName), runDirectory);
        }
        else
        {
            source = Path.GetFullPath(config.InitFrom);
            var file = RunStateFile.Read(source) ?? throw new InvalidOperationException($"baseline: initFrom {source} has no {RunStateFile.FileName}.");
            state = file.TrainerPath(source);
        }

        if (!Directory.Exists(state))
        {
            throw new InvalidOperationException($"baseline: the warm start's trainer state {state} is not on this silo's disk (it is kept at step 0 of a run with baseline {RunConfig.Baselines.SftEqualTime}, and needs a shared run directory).");
        }

        // The warm start's wall time is in timings.csv (sft/wall_seconds), its step count in metrics.csv (sft/steps).
        double StepZero(string file, string metric) =>
            File.Exists(Path.Combine(source, file))
                ? MetricsCsvWriter.Read(Path.Combine(source, file)).LastOrDefault(r => r.Step == 0)?.Values.GetValueOrDefault(metric) ?? 0
                : 0;
        var seconds = StepZero(RunArtifacts.TimingsFileName, "sft/wall_seconds");
        var steps = StepZero(MetricsCsvWriter.FileName, "sft/steps");
        if (!(seconds > 0 && steps > 0))
        {
            throw new InvalidOperationException($"baseline: {source} has no step-0 sft/wall_seconds (timings.csv) and sft/steps (metrics.csv) for its warm start (they are written since the equal-time baseline exists); run the warm start again.");
        }

        return (state, seconds / steps);
    }

    /// <summary>Writes <c>baseline.json</c>.</summary>
    private static void Write(string runDirectory, BaselineResult result) =>
        File.WriteAllText(Path.Combine(runDirectory, BaselineResult.FileName), JsonSerializer.Serialize(result, RunJson.Options));

    /// <summary>Keeps the warm start's trainer state for the baseline: <c>warmstart/</c>, a copy of the step-0 state.</summary>
    public static void KeepWarmStart(string runDirectory)
    {
        var file = RunStateFile.Read(runDirectory);
        var from = file?.TrainerPath(runDirectory);
        if (from is null || !Directory.Exists(from))
        {
            return;   // no shared disk: the baseline says so when it runs
        }

        var to = Path.Combine(runDirectory, RunStateFile.WarmStartDirectoryName);
        if (Directory.Exists(to))
        {
            Directory.Delete(to, recursive: true);
        }

        Directory.CreateDirectory(to);
        foreach (var path in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, path));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(path, target);
        }
    }
}
