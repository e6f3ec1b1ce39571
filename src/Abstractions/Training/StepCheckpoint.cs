namespace AgentRl.Abstractions.Training;

/// <summary>
/// The checkpoint a Checkpoint phase recorded in <c>run_state.json</c>: the step (0 = the warm start), the policy version
/// whose weights the run's checkpoint store holds for it (<c>checkpoints/v{Version}</c>), and the step's held-out greedy
/// accuracy when it was evaluated.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="Version">The policy version after the step.</param>
/// <param name="EvalAccuracy">The step's eval accuracy, or null when the step was not evaluated.</param>
public sealed record StepCheckpoint(int Step, long Version, double? EvalAccuracy);

/// <summary>Which of a run's checkpoints outlive the store's rotation of the newest ones.</summary>
public static class StepCheckpoints
{
    /// <summary>
    /// The versions a prune must keep whatever their age: the warm start's (step 0) and the best by eval accuracy (the
    /// latest of equally good ones: the most trained).
    /// </summary>
    public static IReadOnlyList<long> Pinned(IReadOnlyList<StepCheckpoint> checkpoints)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        var pinned = new List<long>();
        if (checkpoints.FirstOrDefault(c => c.Step == 0) is { } warmStart)
        {
            pinned.Add(warmStart.Version);
        }

        var best = checkpoints.Where(c => c.EvalAccuracy is not null).OrderBy(c => c.EvalAccuracy).ThenBy(c => c.Step).LastOrDefault();
        if (best is not null && !pinned.Contains(best.Version))
        {
            pinned.Add(best.Version);
        }

        return pinned;
    }

    /// <summary>
    /// <paramref name="earlier"/> with the checkpoint of <paramref name="latest"/>'s step recorded: entries of that step or
    /// later (a step done again after a resume) are replaced; the list stays in step order.
    /// </summary>
    public static IReadOnlyList<StepCheckpoint> Record(IReadOnlyList<StepCheckpoint> earlier, StepCheckpoint latest)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(latest);
        return [.. earlier.Where(c => c.Step < latest.Step), latest];
    }
}
