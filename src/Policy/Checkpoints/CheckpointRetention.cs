namespace AgentRl.Policy.Checkpoints;

/// <summary>Which checkpoint versions a store deletes when it prunes (<see cref="ICheckpointStore.DeleteOldVersionsAsync"/>).</summary>
public static class CheckpointRetention
{
    /// <summary>
    /// The versions of <paramref name="ascending"/> to delete: all but the newest <paramref name="keepNewest"/> and those
    /// in <paramref name="alsoKeep"/> (pinned versions, such as a run's warm start and its best by eval accuracy), oldest first.
    /// </summary>
    public static IReadOnlyList<long> VersionsToDelete(IReadOnlyList<long> ascending, int keepNewest, IReadOnlyCollection<long> alsoKeep)
    {
        ArgumentNullException.ThrowIfNull(ascending);
        ArgumentNullException.ThrowIfNull(alsoKeep);
        ArgumentOutOfRangeException.ThrowIfNegative(keepNewest);
        var pinned = alsoKeep as IReadOnlySet<long> ?? alsoKeep.ToHashSet();
        return [.. ascending.Take(Math.Max(0, ascending.Count - keepNewest)).Where(v => !pinned.Contains(v))];
    }
}
