using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Pipeline.Rewards;

namespace AgentRl.Grains.Training.Phases;

/// <summary>The trajectories to train on, their rewards shaped, and the Reward phase's metrics.</summary>
/// <param name="Trajectories">The trajectories, grouped by <see cref="Trajectory.GroupId"/>.</param>
/// <param name="Metrics">What the phases that built the batch measured.</param>
/// <param name="TokenWeights">Per trajectory, per-token weights of its policy loss (a swarm's truncated importance weights), or null.</param>
/// <param name="RewardKl">With KL in the reward, the KL measured on the trajectories, for the step's one controller update; else null.</param>
public sealed record ScoredBatch(IReadOnlyList<Trajectory> Trajectories, Dictionary<string, double> Metrics, IReadOnlyList<float[]?>? TokenWeights = null, RewardKlSample? RewardKl = null);

/// <summary>
/// The Reward phase: each trajectory's task reward (scored by its episode) shaped as the objective says — DAPO's
/// overlong penalty from the real response length (<c>objective.overlongBuffer</c>), then KL to the reference policy
/// (<c>objective.useKlInReward</c>: the trainer grain computes β·Σ kl(old, ref) per trajectory with the step's β).
/// The KL controller is updated once per step, over every trajectory the step trains on: <see cref="ScoreAsync"/> does it
/// for a step that trains on its own rollouts only; a swarm step shapes its own groups with <see cref="ShapeAsync"/> and
/// the Pool phase updates the controller once its fill and external groups are shaped too (<see cref="UpdateKlControllerAsync"/>).
/// Metrics <c>reward/overlong_penalty</c>, <c>reward/kl_penalty</c> (means of what was added), <c>reward/kl</c>, <c>reward/kl_coef</c>
/// (the β applied), all over the step's own rollouts.
/// </summary>
public sealed class RewardPhase(RunContext run)
{
    /// <summary>The rollouts shaped, and the KL controller updated with their KL: the whole Reward phase of a step without a pool.</summary>
    public async Task<ScoredBatch> ScoreAsync(RolloutBatch rollout, CancellationToken stop)
    {
        var scored = await ShapeAsync(rollout, stop);
        await UpdateKlControllerAsync(scored.RewardKl, stop);
        return scored;
    }

    /// <summary>The rollouts shaped with the current β; the KL controller is left as it is (<see cref="ScoredBatch.RewardKl"/> says what it should see).</summary>
    public async Task<ScoredBatch> ShapeAsync(RolloutBatch rollout, CancellationToken stop)
    {
        var (trajectories, kl) = await ShapeTrajectoriesAsync([.. rollout.Groups.SelectMany(g => g.Trajectories)], stop);
        var metrics = new Dictionary<string, double>();
        if (run.Algorithm.Objective.OverlongBuffer && trajectories.Count > 0)
        {
            metrics["reward/" + RewardShaping.OverlongPenaltyPart] = trajectories.Average(t => t.RewardParts[RewardShaping.OverlongPenaltyPart]);
        }

        if (kl is not null)
        {
            metrics["reward/" + RewardShaping.KlPenaltyPart] = kl.Penalties.Average();
            metrics["reward/kl"] = kl.CurrentKl;
            metrics["reward/kl_coef"] = kl.Coef;
        }

        return new ScoredBatch(trajectories, metrics, RewardKl: kl is null ? null : new RewardKlSample(kl.CurrentKl, trajectories.Count));
    }

    /// <summary>
    /// Any trajectories (own, or a swarm's external ones) shaped with the current β: the overlong penalty, then KL in the
    /// reward; and the trainer's KL answer when KL is in the reward (null otherwise, or for no trajectories).
    /// </summary>
    public async Task<(IReadOnlyList<Trajectory> Trajectories, RewardKlPenalty? Kl)> ShapeTrajectoriesAsync(IReadOnlyList<Trajectory> trajectories, CancellationToken stop)
    {
        var objective = run.Algorithm.Objective;
        IReadOnlyList<Trajectory> shaped = RewardShaping.ApplyOverlong(trajectories, objective, run.Config.Limits.ContextBudget);
        if (!objective.UseKlInReward || shaped.Count == 0)
        {
            return (shaped, null);
        }

        var kl = await run.Trainer.RewardKlAsync(shaped, stop);
        return (RewardShaping.Add(shaped, [.. kl.Penalties.Select(p => -p)], RewardShaping.KlPenaltyPart), kl);
    }

    /// <summary>The step's one update of the KL-in-reward controller, with the KL of every trajectory it trains on (none: no update).</summary>
    public async Task UpdateKlControllerAsync(RewardKlSample? sample, CancellationToken stop)
    {
        if (run.Algorithm.Objective.UseKlInReward && sample is { Sequences: > 0 })
        {
            await run.Trainer.UpdateRewardKlAsync(sample.MeanKl, sample.Sequences, stop);
        }
    }
}
