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

    /// <summary>
    /// Groups sequence indices into micro-batches that minimise the padded tokens plus <paramref name="overheadTokens"/>
    /// per micro-batch (the fixed cost of one forward and backward pass, in tokens' worth of work), each within the
    /// budget. Sequences are taken longest first (stable), as in <see cref="Pack"/>, and the cuts of that order are
    /// chosen by dynamic programming over every cut (O(n²)); of equal costs the fewer micro-batches win. A batch of
    /// similar lengths packs as <see cref="Pack"/> does; a batch of 100-token and 14-token rows is cut between them
    /// instead of padding the short rows to 100 (an SFT batch of demonstrations and echo examples).
    /// </summary>
    /// <param name="lengths">Token count of each sequence.</param>
    /// <param name="tokenBudget">Most padded tokens per micro-batch. A sequence longer than the budget forms a micro-batch of its own.</param>
    /// <param name="overheadTokens">The cost of a micro-batch beyond its padded tokens; ≥ 0.</param>
    /// <param name="maxRows">Optional cap on rows per micro-batch.</param>
    public static IReadOnlyList<int[]> PackByCost(IReadOnlyList<int> lengths, int tokenBudget, int overheadTokens, int maxRows = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(overheadTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToArray();
        var n = order.Length;

        // cost[j]: the cheapest packing of the first j sequences of the order; start[j]: where its last micro-batch starts.
        var cost = new long[n + 1];
        var start = new int[n + 1];
        for (var j = 1; j <= n; j++)
        {
            cost[j] = long.MaxValue;
            for (var i = 0; i < j; i++)
            {
                var rows = j - i;
                var padded = (long)rows * Math.Max(1, lengths[order[i]]);
                if (rows > 1 && (padded > tokenBudget || rows > maxRows))
                {
                    continue;
                }

                var candidate = cost[i] + padded + overheadTokens;
                if (candidate < cost[j])
                {
                    (cost[j], start[j]) = (candidate, i);
                }
            }
        }

        var batches = new List<int[]>();
        for (var j = n; j > 0; j = start[j])
        {
            batches.Add(order[start[j]..j]);
        }

        batches.Reverse();
        return batches;
    }
}
