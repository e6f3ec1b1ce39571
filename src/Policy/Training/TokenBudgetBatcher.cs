namespace AgentRl.Policy.Training;

/// <summary>
/// Packs sequences into micro-batches whose padded size (rows × longest row) stays within a token budget.
/// Sequences are taken longest first (stable), so rows of a micro-batch have similar lengths and little padding.
/// </summary>
public static class TokenBudgetBatcher
{
    /// <summary>Groups sequence indices into micro-batches.</summary>
    /// <param name="lengths">Token count of each sequence.</param>
    /// <param name="tokenBudget">Most padded tokens per micro-batch. A sequence longer than the budget forms a micro-batch of its own.</param>
    /// <param name="maxRows">Optional cap on rows per micro-batch.</param>
    /// <returns>Micro-batches as lists of indices into <paramref name="lengths"/>; every index appears exactly once.</returns>
    public static IReadOnlyList<int[]> Pack(IReadOnlyList<int> lengths, int tokenBudget, int maxRows = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToArray();
        var batches = new List<int[]>();
        var current = new List<int>();
        var currentMax = 0;
        foreach (var index in order)
        {
            var length = Math.Max(1, lengths[index]);
            var newMax = Math.Max(currentMax, length);
            if (current.Count > 0 && ((long)(current.Count + 1) * newMax > tokenBudget || current.Count == maxRows))
            {
                batches.Add([.. current]);
                current.Clear();
                newMax = length;
            }

            current.Add(index);
            currentMax = newMax;
        }

        if (current.Count > 0)
        {
            batches.Add([.. current]);
        }

        return batches;
    }
}
