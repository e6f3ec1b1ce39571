using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Pipeline.Metrics;

/// <summary>
/// Per-step metrics of rollout trees and tool use, under stable names. Tree metrics are means per
/// prompt over the step's groups; plain groups count as trees without forks.
/// </summary>
public static class BranchingMetrics
{
    /// <summary>Prefix of the calls-per-trajectory series, one per catalog tool.</summary>
    public const string CallsByToolPrefix = "tools/calls_by_tool/";

    /// <summary>The series of calls that name no tool of the run's catalog (the model's typos and inventions).</summary>
    public const string UnknownToolCalls = CallsByToolPrefix + "unknown";

    /// <summary>
    /// The metrics of one step's groups. <paramref name="catalogTools"/> are the tools the run offers: each gets its own
    /// <c>tools/calls_by_tool/{tool}</c> series (0 when not called, so the columns are the same every step), and calls of
    /// any other name are counted under <see cref="UnknownToolCalls"/>, so that text the model wrote never becomes a metric
    /// name. Calls that did not parse (no name) are in neither; <c>tools/error_rate</c> counts them.
    /// </summary>
    public static Dictionary<string, double> Compute(IReadOnlyList<EpisodeResult> groups, IReadOnlyCollection<string> catalogTools)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(catalogTools);
        var trajectories = groups.SelectMany(g => g.Trajectories).ToList();
        var metrics = new Dictionary<string, double>();
        if (groups.Count == 0 || trajectories.Count == 0)
        {
            return metrics;
        }

        var stats = groups.Select(g => g.Branching).ToList();
        double PerPrompt(Func<BranchingStats, double> value) => stats.Average(s => s is null ? 0.0 : value(s));
        metrics[MetricColumns.BranchesPerPrompt] = PerPrompt(s => s.ForksTaken);
        if (stats.All(s => s is null))
        {
            AddToolMetrics(trajectories, catalogTools, metrics);
            return metrics;
        }

        metrics["branching/forks_taken"] = PerPrompt(s => s.ForksTaken);
        metrics["branching/forks_refused"] = PerPrompt(s => s.ForksRefused);
        metrics["branching/forks_requested"] = PerPrompt(s => s.ForksRequested);
        metrics["branching/fork_points"] = PerPrompt(s => s.ForkPoints);
        metrics["branching/top_ups"] = PerPrompt(s => s.TopUps);
        metrics["branching/rounds"] = PerPrompt(s => s.Rounds);
        metrics["branching/initial_trajectories"] = stats.Average(s => s?.InitialTrajectories ?? 0.0);
        metrics["branching/depth_mean"] = trajectories.Average(t => (double)t.Depth);
        metrics["branching/depth_max"] = trajectories.Max(t => t.Depth);
        metrics["branching/replayed_calls"] = trajectories.Sum(t => t.ReplayedToolCalls);
        metrics["branching/replay_mismatches"] = trajectories.Sum(t => t.ReplayMismatches);

        var deltas = stats.Where(s => s is not null).SelectMany(s => s!.EntropyDeltas).Order().ToList();
        if (deltas.Count > 0)
        {
            metrics["branching/delta_entropy_mean"] = deltas.Average();
            foreach (var p in new[] { 10, 50, 90 })
            {
                metrics[$"branching/delta_entropy_p{p}"] = Percentile(deltas, p / 100.0);
            }
        }

        AddToolMetrics(trajectories, catalogTools, metrics);
        return metrics;
    }

    private static void AddToolMetrics(List<Trajectory> trajectories, IReadOnlyCollection<string> catalogTools, Dictionary<string, double> metrics)
    {
        // Entropy of the first k generated tokens: of the first turn (before any tool result) and after tool results.
        metrics["rollout/entropy_initial"] = trajectories.Average(t => (double)t.InitialEntropy);
        var after = trajectories.SelectMany(t => t.EntropyAfterToolResults).ToList();
        if (after.Count > 0)
        {
            metrics["rollout/entropy_after_tool"] = after.Average(e => (double)e);
        }

        var catalog = catalogTools.Where(t => t != "unknown").ToHashSet(StringComparer.Ordinal);
        var counts = catalog.Append("unknown").ToDictionary(t => t, _ => 0, StringComparer.Ordinal);
        foreach (var call in trajectories.SelectMany(t => t.ToolCalls).Where(c => c.Name.Length > 0))
        {
            counts[catalog.Contains(call.Name) ? call.Name : "unknown"]++;
        }

        foreach (var (tool, count) in counts)
        {
            metrics[CallsByToolPrefix + tool] = count / (double)trajectories.Count;
        }
    }

    /// <summary>Linear interpolation between the closest ranks of sorted values (numpy's default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        var position = q * (sorted.Count - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (position - low));
    }
}
