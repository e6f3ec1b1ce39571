using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;

namespace AgentRl.Pipeline.Swarm;

/// <summary>
/// One draw over all shards of a pool from each shard's answer: <c>recent</c> takes the newest across shards; the
/// uniform selections pick a shard with probability proportional to the eligible groups it has not yet given, then take
/// the next group of its (uniform) sample — a uniform sample without replacement over the whole pool.
/// </summary>
public static class PoolDrawMerge
{
    public static IReadOnlyList<SharedGroup> Merge(IReadOnlyList<PoolDrawResult> shards, int count, string select, int seed)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (count <= 0)
        {
            return [];
        }

        if (select == SwarmSettings.Selections.Recent)
        {
            return [.. shards.SelectMany(s => s.Groups).OrderByDescending(g => g.Step).ThenByDescending(g => g.ProducedAt).Take(count)];
        }

        var remaining = shards.Select(s => (long)s.Eligible).ToArray();
        var taken = new int[shards.Count];
        var random = new Random(seed);
        var result = new List<SharedGroup>();
        while (result.Count < count)
        {
            var total = 0L;
            for (var s = 0; s < shards.Count; s++)
            {
                total += taken[s] < shards[s].Groups.Count ? remaining[s] : 0;
            }

            if (total <= 0)
            {
                break;
            }

            var pick = random.NextInt64(total);
            var shard = 0;
            for (; shard < shards.Count; shard++)
            {
                var weight = taken[shard] < shards[shard].Groups.Count ? remaining[shard] : 0;
                if (pick < weight)
                {
                    break;
                }

                pick -= weight;
            }

            result.Add(shards[shard].Groups[taken[shard]++]);
            remaining[shard]--;
        }

        return result;
    }
}
