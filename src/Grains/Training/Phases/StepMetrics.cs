using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>One step's row of <c>metrics.csv</c>: what each phase measured, under the stable names of docs/ARCHITECTURE.md.</summary>
public static class StepMetrics
{
    /// <summary>
    /// Rollout, reward and advantage metrics, the update's loss parts (<c>train/skipped</c> = 1 when it was skipped), the
    /// evaluation's when it ran, <c>rollout/policy_version</c>, <c>perf/phase/{Phase}_s</c>, and the step's end-to-end
    /// <c>perf/samples_per_s</c> (trajectories trained per second of the step) and <c>perf/train_tokens_per_s</c>.
    /// </summary>
    public static Dictionary<string, double> Combine(
        RolloutBatch rollout, ScoredBatch scored, IReadOnlyDictionary<string, double> advantage, TrainResult? update, EvaluationResult? evaluation, long version, PhaseClock clock)
    {
        var metrics = new Dictionary<string, double>(rollout.Metrics);
        var parts = scored.Metrics
            .Concat(advantage)
            .Concat(update?.Metrics ?? new Dictionary<string, double> { ["train/skipped"] = 1 })
            .Concat(evaluation?.Metrics ?? [])
            .Append(KeyValuePair.Create("rollout/policy_version", (double)version))
            .Concat(clock.Metrics());
        foreach (var (key, value) in parts)
        {
            metrics[key] = value;
        }

        // End to end over the step's phases (in async mode the Rollout phase is the wait for the batch).
        var seconds = clock.Seconds.Values.Sum();
        if (seconds > 0)
        {
            metrics["perf/samples_per_s"] = scored.Trajectories.Count / seconds;
            metrics["perf/train_tokens_per_s"] = scored.Trajectories.Sum(t => (double)t.TokenIds.Length) / seconds;
        }

        return metrics;
    }
}
