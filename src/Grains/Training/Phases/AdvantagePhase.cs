using AgentRl.Abstractions.Training;
using AgentRl.Policy.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The Advantage phase, computed in the run grain on managed arrays: group advantages of the shaped rewards with the
/// objective's estimator, and tree attribution (soft or hard) for rollout trees (docs/ALGORITHMS.md §0.2, §1.4).
/// Metrics <c>train/examples</c>, <c>train/advantage_abs_mean</c>, <c>train/advantage_token_mean</c> (the mean over generated
/// tokens: 0 after REINFORCE++'s whitening) and <c>train/advantage_group_std</c> (the mean within-group unbiased std over
/// groups whose advantages differ: 1 for GRPO's normalisation, the reward spread for Dr.GRPO).
/// </summary>
public sealed class AdvantagePhase(RunContext run)
{
    public (TrainBatch Batch, Dictionary<string, double> Metrics) Build(ScoredBatch scored)
    {
        var advantages = TrajectoryExamples.Advantages(scored.Trajectories, run.Algorithm.Objective, run.Algorithm.Attribution);
        var metrics = new Dictionary<string, double>
        {
            ["train/examples"] = scored.Trajectories.Count,
            ["train/advantage_abs_mean"] = advantages.PerTrajectory.Length == 0 ? 0 : advantages.PerTrajectory.Average(Math.Abs),
        };
        var tokens = scored.Trajectories.Sum(t => (double)t.GeneratedTokenCount);
        if (tokens > 0)
        {
            metrics["train/advantage_token_mean"] = scored.Trajectories.Select((t, i) => t.GeneratedTokenCount * (double)advantages.PerTrajectory[i]).Sum() / tokens;
        }

        var spreads = scored.Trajectories.Select((t, i) => (t.GroupId, Advantage: (double)advantages.PerTrajectory[i]))
            .GroupBy(p => p.GroupId, StringComparer.Ordinal)
            .Select(g => g.Select(p => p.Advantage).ToList())
            .Where(a => a.Count > 1 && a.Max() != a.Min())
            .Select(a => Math.Sqrt(a.Sum(x => (x - a.Average()) * (x - a.Average())) / (a.Count - 1)))
            .ToList();
        if (spreads.Count > 0)
        {
            metrics["train/advantage_group_std"] = spreads.Average();
        }
        return (new TrainBatch(scored.Trajectories, advantages.PerTrajectory, advantages.PerToken, scored.TokenWeights), metrics);
    }
}
