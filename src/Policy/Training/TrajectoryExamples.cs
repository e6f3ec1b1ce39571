using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Training;

/// <summary>How <see cref="TrajectoryExamples.Build"/> turns scored trajectories into training examples.</summary>
public sealed record ExampleBuildOptions
{
    /// <summary>
    /// Advantage attribution on rollout trees (trajectories with <see cref="Trajectory.ParentPath"/>), docs/ALGORITHMS.md §1.4:
    /// <c>soft</c> (default; each trajectory keeps its own advantage, so a shared prefix is trained once per descendant)
    /// or <c>hard</c> (a token shared by d trajectories of a group gets the mean of their advantages; per-token advantages).
    /// </summary>
    public string Attribution { get; init; } = TreeAttributions.Soft;
}

/// <summary>The Advantage phase's result: one advantage per trajectory and, under hard attribution, per-token ones.</summary>
/// <param name="PerTrajectory">The group advantage of each trajectory, in input order.</param>
/// <param name="PerToken">Per-token advantages (length = the trajectory's tokens) where tree attribution set them, else null.</param>
public sealed record TrajectoryAdvantages(float[] PerTrajectory, IReadOnlyList<float[]?> PerToken);

/// <summary>Examples ready for <see cref="PolicyTrainer.TrainStep"/> and their advantages.</summary>
/// <param name="Examples">One per trajectory, in input order.</param>
/// <param name="Advantages">The advantage of each trajectory.</param>
public sealed record ExampleBatch(IReadOnlyList<TrainingExample> Examples, float[] Advantages);

/// <summary>
/// The Advantage phase on managed arrays: group advantages by <see cref="Trajectory.GroupId"/> of the trajectories'
/// rewards (already shaped by the Reward phase: overlong penalty, KL in the reward) with the objective's estimator
/// (docs/ALGORITHMS.md §0.2, §3), tree attribution, then one <see cref="TrainingExample"/> per trajectory, its advantage
/// broadcast over its loss mask. DAPO's group filter runs before, in the Rollout phase (dynamic sampling); AEPO's
/// entropy-aware advantage needs the training forward's entropies and is part of the loss
/// (<see cref="ObjectiveOptions.EntropyAdvantageAlpha"/>).
/// </summary>
public static class TrajectoryExamples
{
    /// <summary>The advantages of <paramref name="trajectories"/> (docs/ALGORITHMS.md §0.2, §1.4).</summary>
    public static TrajectoryAdvantages Advantages(IReadOnlyList<Trajectory> trajectories, ObjectiveOptions objective, string attribution = TreeAttributions.Soft)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(objective);
        if (attribution is not (TreeAttributions.Soft or TreeAttributions.Hard))
        {
            throw new ArgumentException($"Unknown attribution '{attribution}'.", nameof(attribution));
        }
        var scores = trajectories.Select(t => (float)t.Reward).ToArray();
        var groups = trajectories.Select(t => t.GroupId).ToArray();
        var tokenCounts = trajectories.Select(t => t.GeneratedTokenCount).ToArray();
        var advantages = trajectories.Count == 0
            ? []
            : AdvantageEstimators.ComputePerTrajectory(objective.AdvantageEstimator, scores, groups, tokenCounts, objective.AdvantageEpsilon);
        var perToken = new float[]?[trajectories.Count];
        if (attribution == TreeAttributions.Hard)
        {
            HardAttribution(trajectories, advantages, perToken);
        }
        return new TrajectoryAdvantages(advantages, perToken);
    }

    /// <summary>
    /// One example per trajectory with its advantage (per-token ones where set) and, where <paramref name="tokenWeights"/>
    /// gives them, per-token weights of its policy loss.
    /// </summary>
    public static IReadOnlyList<TrainingExample> Examples(IReadOnlyList<Trajectory> trajectories, TrajectoryAdvantages advantages, IReadOnlyList<float[]?>? tokenWeights = null)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(advantages);
        if (advantages.PerTrajectory.Length != trajectories.Count || advantages.PerToken.Count != trajectories.Count)
        {
            throw new ArgumentException($"{trajectories.Count} trajectories need as many advantages (got {advantages.PerTrajectory.Length}).", nameof(advantages));
        }
        if (tokenWeights is not null && tokenWeights.Count != trajectories.Count)
        {
            throw new ArgumentException($"{trajectories.Count} trajectories need as many token weight rows (got {tokenWeights.Count}).", nameof(tokenWeights));
        }
        return [.. trajectories.Select((t, i) => TrainingExample.FromTrajectory(t, advantages.PerTrajectory[i]) with { TokenAdvantages = advantages.PerToken[i], TokenWeights = tokenWeights?[i] })];
    }

    /// <summary><see cref="Advantages"/> then <see cref="Examples"/>.</summary>
    public static ExampleBatch Build(IReadOnlyList<Trajectory> trajectories, ObjectiveOptions objective, ExampleBuildOptions? options = null)
    {
        var advantages = Advantages(trajectories, objective, (options ?? new ExampleBuildOptions()).Attribution);
        return new ExampleBatch(Examples(trajectories, advantages), advantages.PerTrajectory);
    }

    /// <summary>
    /// Hard attribution per group that holds forks: token positions are absolute (prompt included), so a child shares
    /// [0, ForkPosition) with its parent; each token gets the mean advantage of the kept trajectories that hold it.
    /// A group whose parent was dropped (e.g. by the group filter) keeps its plain advantages.
    /// </summary>
    private static void HardAttribution(IReadOnlyList<Trajectory> trajectories, float[] advantages, float[]?[] perToken)
    {
        foreach (var group in Enumerable.Range(0, trajectories.Count).GroupBy(i => trajectories[i].GroupId, StringComparer.Ordinal))
        {
            var members = group.ToList();
            var paths = members.Select(i => trajectories[i].BranchPath).ToHashSet(StringComparer.Ordinal);
            if (!members.Any(i => trajectories[i].ParentPath is not null)
                || members.Any(i => trajectories[i].ParentPath is { } parent && !paths.Contains(parent)))
            {
                continue;
            }

            var tree = members.Select(i =>
            {
                var t = trajectories[i];
                return new TreeTrajectory(t.BranchPath, t.ParentPath, t.ForkPosition ?? 0, t.TokenIds.Length, advantages[i]);
            }).ToList();
            var rows = TreeAttributions.TokenAdvantages(tree, TreeAttributions.Hard);
            for (var k = 0; k < members.Count; k++)
            {
                perToken[members[k]] = [.. rows[k].Select(a => (float)a)];
            }
        }
    }
}
