using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rewards;

namespace AgentRl.Grains.Training.Phases;

/// <summary>The trajectories to train on, their rewards shaped, and the Reward phase's metrics.</summary>
/// <param name="Trajectories">The trajectories, grouped by <see cref="Trajectory.GroupId"/>.</param>
/// <param name="Metrics">What the phases that built the batch measured.</param>
/// <param name="TokenWeights">Per trajectory, per-token weights of its policy loss (a swarm's truncated importance weights), or null.</param>
public sealed record ScoredBatch(IReadOnlyList<Trajectory> Trajectories, Dictionary<string, double> Metrics, IReadOnlyList<float[]?>? TokenWeights = null);

/// <summary>
/// The Reward phase: each trajectory's task reward (scored by its episode) shaped as the objective says — DAPO's
/// overlong penalty from the real response length (<c>objective.overlongBuffer</c>), then KL to the reference policy
/// (<c>objective.useKlInReward</c>: the trainer grain computes β·Σ kl(old, ref) per trajectory and updates its controller).
/// Metrics <c>reward/overlong_penalty</c>, <c>reward/kl_penalty</c> (means of what was added), <c>reward/kl</c>, <c>reward/kl_coef</c>.
/// </summary>
public sealed class RewardPhase(RunContext run)
{
    public async Task<ScoredBatch> ScoreAsync(RolloutBatch rollout, CancellationToken stop)
    {
        var objective = run.Algorithm.Objective;
        var trajectories = RewardShaping.ApplyOverlong([.. rollout.Groups.SelectMany(g => g.Trajectories)], objective, run.Config.Limits.ContextBudget);
        var metrics = new Dictionary<string, double>();
        if (objective.OverlongBuffer && trajectories.Count > 0)
        {
            metrics["reward/" + RewardShaping.OverlongPenaltyPart] = trajectories.Average(t => t.RewardParts[RewardShaping.OverlongPenaltyPart]);
        }

        if (objective.UseKlInReward && trajectories.Count > 0)
        {
            var kl = await run.Trainer.RewardKlAsync(trajectories, stop);
            trajectories = RewardShaping.Add(trajectories, [.. kl.Penalties.Select(p => -p)], RewardShaping.KlPenaltyPart);
            metrics["reward/" + RewardShaping.KlPenaltyPart] = kl.Penalties.Average();
            metrics["reward/kl"] = kl.CurrentKl;
            metrics["reward/kl_coef"] = kl.Coef;
        }

        return new ScoredBatch(trajectories, metrics);
    }
}
