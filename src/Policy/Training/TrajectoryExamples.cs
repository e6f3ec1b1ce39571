using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Training;

/// <summary>How <see cref="TrajectoryExamples.Build"/> turns scored trajectories into training examples.</summary>
public sealed record ExampleBuildOptions
{
    /// <summary>
    /// The DAPO group filter's metric per trajectory [<c>filter_groups.metric</c>]; applied when the objective's
    /// <see cref="ObjectiveOptions.FilterGroups"/> is on. Default null: the trajectory's reward (<c>seq_reward</c>).
    /// </summary>
    public Func<Trajectory, double>? FilterMetric { get; init; }

    /// <summary>
    /// <c>max_response_length</c> for DAPO overlong shaping, applied when the objective's
    /// <see cref="ObjectiveOptions.OverlongBuffer"/> is on; the response length is the token count after the prompt.
    /// Default null: no shaping even when the objective asks for it.
    /// </summary>
    public int? MaxResponseLength { get; init; }

    /// <summary>
    /// Advantage attribution on rollout trees (trajectories with <see cref="Trajectory.ParentPath"/>), ALGORITHMS.md §1.4:
    /// <c>soft</c> (default; each trajectory keeps its own advantage, so a shared prefix is trained once per descendant)
    /// or <c>hard</c> (a token shared by d trajectories of a group gets the mean of their advantages; per-token advantages).
    /// </summary>
    public string Attribution { get; init; } = TreeAttributions.Soft;
}

/// <summary>Examples ready for <see cref="PolicyTrainer.TrainStep"/> and what the advantage phase decided.</summary>
/// <param name="Examples">One per kept trajectory, in input order.</param>
/// <param name="KeptIndices">Index into the input of each example.</param>
/// <param name="Scores">The (shaped) score of each input trajectory.</param>
/// <param name="Advantages">The advantage of each input trajectory (0 for dropped ones).</param>
/// <param name="Filter">The DAPO filter's outcome, or null when it was off.</param>
public sealed record ExampleBatch(
    IReadOnlyList<TrainingExample> Examples,
    int[] KeptIndices,
    float[] Scores,
    float[] Advantages,
    GroupFilterResult? Filter);

/// <summary>
/// The Advantage phase on managed arrays: scores (reward, optionally DAPO overlong-shaped) → DAPO group filter →
/// group advantages by <see cref="Trajectory.GroupId"/> with the objective's estimator (ALGORITHMS.md §0.2, §3) →
/// one <see cref="TrainingExample"/> per kept trajectory, its advantage broadcast over its loss mask.
/// AEPO's entropy-aware advantage needs the training forward's entropies and is applied inside the trainer
/// (<see cref="TrainerOptions.Aepo"/>). KL-in-reward (<see cref="ObjectiveOptions.UseKlInReward"/>) is not applied here.
/// </summary>
public static class TrajectoryExamples
{
    public static ExampleBatch Build(IReadOnlyList<Trajectory> trajectories, ObjectiveOptions objective, ExampleBuildOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(objective);
        options ??= new ExampleBuildOptions();
        var scores = trajectories.Select(t => (float)t.Reward).ToArray();
        if (objective.OverlongBuffer && options.MaxResponseLength is { } maxLength)
        {
            scores = OverlongRewardShaping.Apply(
                scores,
                [.. trajectories.Select(t => t.TokenIds.Length - t.PromptLength)],
                maxLength,
                objective.OverlongBufferLength,
                objective.OverlongPenaltyFactor);
        }

        GroupFilterResult? filter = null;
        var kept = Enumerable.Range(0, trajectories.Count).ToArray();
        if (objective.FilterGroups)
        {
            var metric = options.FilterMetric is { } f ? trajectories.Select(f).ToArray() : scores.Select(s => (double)s).ToArray();
            filter = DynamicSampling.FilterGroups(metric, [.. trajectories.Select(t => t.GroupId)]);
            kept = filter.KeptIndices;
        }

        var keptScores = kept.Select(i => scores[i]).ToArray();
        var keptGroups = kept.Select(i => trajectories[i].GroupId).ToArray();
        var tokenCounts = kept.Select(i => trajectories[i].GeneratedTokenCount).ToArray();
        var keptAdvantages = kept.Length == 0
            ? []
            : AdvantageEstimators.ComputePerTrajectory(objective.AdvantageEstimator, keptScores, keptGroups, tokenCounts, objective.AdvantageEpsilon);
        var advantages = new float[trajectories.Count];
        var examples = new TrainingExample[kept.Length];
        for (var k = 0; k < kept.Length; k++)
        {
            advantages[kept[k]] = keptAdvantages[k];
            examples[k] = TrainingExample.FromTrajectory(trajectories[kept[k]], keptAdvantages[k]);
        }

        if (options.Attribution == TreeAttributions.Hard)
        {
            HardAttribution(trajectories, kept, keptAdvantages, examples);
        }
        else if (options.Attribution != TreeAttributions.Soft)
        {
            throw new ArgumentException($"Unknown attribution '{options.Attribution}'.", nameof(options));
        }
        return new ExampleBatch(examples, kept, scores, advantages, filter);
    }

    /// <summary>
    /// Hard attribution per group that holds forks: token positions are absolute (prompt included), so a child shares
    /// [0, ForkPosition) with its parent; each token gets the mean advantage of the kept trajectories that hold it.
    /// A group whose parent was dropped (e.g. by the group filter) keeps its plain advantages.
    /// </summary>
    private static void HardAttribution(IReadOnlyList<Trajectory> trajectories, int[] kept, float[] keptAdvantages, TrainingExample[] examples)
    {
        foreach (var group in Enumerable.Range(0, kept.Length).GroupBy(k => trajectories[kept[k]].GroupId, StringComparer.Ordinal))
        {
            var members = group.ToList();
            var paths = members.Select(k => trajectories[kept[k]].BranchPath).ToHashSet(StringComparer.Ordinal);
            if (!members.Any(k => trajectories[kept[k]].ParentPath is not null)
                || members.Any(k => trajectories[kept[k]].ParentPath is { } parent && !paths.Contains(parent)))
            {
                continue;
            }

            var tree = members.Select(k =>
            {
                var t = trajectories[kept[k]];
                return new TreeTrajectory(t.BranchPath, t.ParentPath, t.ForkPosition ?? 0, t.TokenIds.Length, keptAdvantages[k]);
            }).ToList();
            var rows = TreeAttributions.TokenAdvantages(tree, TreeAttributions.Hard);
            for (var i = 0; i < members.Count; i++)
            {
                examples[members[i]] = examples[members[i]] with { TokenAdvantages = [.. rows[i].Select(a => (float)a)] };
            }
        }
    }
}
