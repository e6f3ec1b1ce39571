using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Pipeline.Metrics;

/// <summary>
/// How old the trained tokens are (docs/ALGORITHMS.md §5): per generated token, the trainer's version before the update
/// minus the version that generated it. <c>staleness/mean</c> (over generated tokens), <c>staleness/max</c>, and
/// <c>async/interruptions</c>: weight switches inside the trajectories (a generation that continued under a newer version).
/// </summary>
public static class StalenessMetrics
{
    public static Dictionary<string, double> Compute(IReadOnlyList<Trajectory> trajectories, long trainerVersion)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        long tokens = 0, sum = 0, max = 0, switches = 0;
        foreach (var trajectory in trajectories)
        {
            long? previous = null;
            for (var t = 0; t < trajectory.TokenIds.Length; t++)
            {
                var version = trajectory.PolicyVersions[t];
                if (trajectory.LossMask[t] == 0 || version < 0)
                {
                    continue;
                }

                var staleness = Math.Max(0, trainerVersion - version);
                (tokens, sum, max) = (tokens + 1, sum + staleness, Math.Max(max, staleness));
                switches += previous is { } p && version > p ? 1 : 0;
                previous = version;
            }
        }

        return new Dictionary<string, double>
        {
            ["staleness/mean"] = tokens == 0 ? 0 : sum / (double)tokens,
            ["staleness/max"] = max,
            ["async/interruptions"] = switches,
        };
    }
}
