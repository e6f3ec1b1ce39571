using AgentRl.Abstractions.Rollouts;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Pipeline.Metrics;

/// <summary>Per-step rollout metrics under their stable names (<c>rollout/…</c>, <c>tools/…</c>, <c>reward/…</c>, <c>perf/…</c>).</summary>
public static class RolloutMetrics
{
    /// <summary>The metric of <see cref="CallsMade"/>: tool calls the step's rollouts made, each shared prefix once.</summary>
    public const string CallsMadeMetric = "tools/calls_made";

    /// <summary>Whether a trajectory solved its item: its correctness part is 1.</summary>
    public static bool Solved(Trajectory trajectory) =>
        trajectory.RewardParts.TryGetValue(RewardParts.Correctness, out var correct) && correct >= 1.0;

    /// <summary>
    /// The tool calls <paramref name="trajectories"/> made: every call of every trajectory, less the calls a forked
    /// branch's sandbox replayed from its parent's prefix (<see cref="Trajectory.ReplayedToolCalls"/>), so a shared prefix
    /// counts once. This is the training's tool budget, the number ARPO's tree rollouts are meant to lower.
    /// </summary>
    public static int CallsMade(IEnumerable<Trajectory> trajectories) =>
        trajectories.Sum(t => t.ToolCalls.Count - t.ReplayedToolCalls);

    /// <summary>
    /// Reward (mean, population std, by part), accuracy, entropy of the generated tokens, response length, tool calls per
    /// trajectory and per solved one, tool calls made (<see cref="CallsMade"/>), tool error rate, finish reasons, and
    /// generated tokens per second of the phase.
    /// </summary>
    public static Dictionary<string, double> Compute(IReadOnlyList<Trajectory> trajectories, double rolloutSeconds)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        if (trajectories.Count == 0)
        {
            return [];
        }

        var solved = trajectories.Where(Solved).ToList();
        var generated = trajectories.Sum(t => t.GeneratedTokenCount);
        var entropies = trajectories.SelectMany(t => t.Entropies.Where((_, i) => t.LossMask[i] == 1)).ToList();
        var rewardMean = trajectories.Average(t => t.Reward);
        var calls = trajectories.Sum(t => t.ToolCalls.Count);
        var metrics = new Dictionary<string, double>
        {
            ["rollout/reward_mean"] = rewardMean,
            ["rollout/reward_std"] = Math.Sqrt(Math.Max(0, trajectories.Average(t => t.Reward * t.Reward) - (rewardMean * rewardMean))),
            ["rollout/accuracy"] = trajectories.Average(t => Solved(t) ? 1.0 : 0.0),
            ["rollout/entropy"] = entropies.Count == 0 ? 0 : entropies.Average(e => (double)e),
            ["rollout/response_tokens_mean"] = trajectories.Average(t => (double)t.GeneratedTokenCount),
            ["tools/calls_per_traj"] = trajectories.Average(t => t.ToolCalls.Count),
            ["tools/calls_per_solved"] = solved.Count == 0 ? 0 : solved.Average(t => t.ToolCalls.Count),
            [CallsMadeMetric] = CallsMade(trajectories),
            ["tools/error_rate"] = calls == 0 ? 0 : trajectories.Sum(t => t.ToolCalls.Count(c => c.IsError)) / (double)calls,
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
}
