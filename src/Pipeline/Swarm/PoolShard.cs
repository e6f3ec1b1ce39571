using System.Text.Json;
using AgentRl.Abstractions.Swarm;

namespace AgentRl.Pipeline.Swarm;

/// <summary>What a shard holds, as grain storage keeps it.</summary>
/// <param name="Groups">The groups as stored, in arrival order.</param>
/// <param name="GroupSize">The completions per group of this shard (set by its first group; 0 while it never held one).</param>
/// <param name="Accepted">Groups stored since the shard was created.</param>
/// <param name="Duplicates">Groups refused as duplicates.</param>
/// <param name="Evicted">Groups evicted.</param>
public sealed record PoolShardContents(IReadOnlyList<PooledGroup> Groups, int GroupSize, long Accepted, long Duplicates, long Evicted);

/// <summary>
/// One shard of an experience pool, Orleans-free: bounded to <see cref="PoolLimits.ShardCapacity"/> groups, evicting by
/// age (time, then steps behind the newest group) and then the oldest first, deduplicating by content hash, refusing a
/// publish with any bad group as a whole (the shard is then unchanged), and drawing for a receiver never its own groups
/// nor groups older than its step limit. Not thread-safe (a grain calls it one call at a time).
/// </summary>
public sealed class PoolShard
{
    private readonly PoolLimits _limits;
    private readonly SharedGroupValidator _validator;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly List<PooledGroup> _entries = [];
    private readonly HashSet<string> _hashes = new(StringComparer.Ordinal);

    public PoolShard(PoolLimits limits, SharedGroupValidator validator, PoolShardContents? contents = null)
    {
        (_limits, _validator) = (limits, validator);
        if (contents is not null)
        {
            GroupSize = contents.GroupSize;
            (Accepted, Duplicates, Evicted) = (contents.Accepted, contents.Duplicates, contents.Evicted);
            foreach (var entry in contents.Groups)
            {
                if (_hashes.Add(entry.Hash))
                {
                    _entries.Add(entry);
                }
            }
        }
    }

    public int Count => _entries.Count;

    public int GroupSize { get; private set; }

    public long Accepted { get; private set; }

    public long Duplicates { get; private set; }

    public long Evicted { get; private set; }

    /// <summary>The groups held, read back from their stored form.</summary>
    public IEnumerable<SharedGroup> Groups => _entries.Select(Read);

    /// <summary>The shard as grain storage keeps it.</summary>
    public PoolShardContents Contents() => new([.. _entries], GroupSize, Accepted, Duplicates, Evicted);

    /// <summary>A group in its stored form: the fields a draw filters on, its content hash and its JSON.</summary>
    public static PooledGroup Store(SharedGroup group) => new(
        group.ProducerRunId, group.Task, group.Step, group.ProducedAt, group.GroupId, SharedGroups.ContentHash(group), SharedGroups.IsInformative(group), group.Completions.Count,
        JsonSerializer.SerializeToUtf8Bytes(group, Json));

    /// <summary>A stored group read back.</summary>
    public static SharedGroup Read(PooledGroup stored) =>
        JsonSerializer.Deserialize<SharedGroup>(stored.Payload, Json) ?? throw new InvalidOperationException($"Pooled group {stored.GroupId} holds no group.");

    /// <summary>
    /// Checks every group, then stores the new ones, then evicts. A bad group throws <see cref="ArgumentException"/>
    /// naming it and its problem before anything changes. A group whose producer and group id the shard already holds
    /// with other content replaces it: a step redone after a failure publishes its groups again under the same ids, and
    /// only the redo was trained (the replaced one counts as evicted). The group size a shard holds is the one of its
    /// first group since it was last empty.
    /// </summary>
    public PoolPublishResult Publish(IReadOnlyList<SharedGroup> groups, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var size = _entries.Count == 0 ? 0 : GroupSize;
        for (var i = 0; i < groups.Count; i++)
        {
            if (_validator.Problem(groups[i]) is { } problem)
            {
                throw new ArgumentException($"Group {i} ({groups[i]?.GroupId}) refused: {problem}.", nameof(groups));
            }

            if (size == 0)
            {
                size = groups[i].Completions.Count;
            }
            else if (groups[i].Completions.Count != size)
            {
                throw new ArgumentException($"Group {i} ({groups[i].GroupId}) refused: it has {groups[i].Completions.Count} completions; this shard holds groups of {size}.", nameof(groups));
            }
        }

        var (accepted, duplicates, replaced) = (0, 0, 0);
        foreach (var group in groups)
        {
            var entry = Store(group);
            if (_hashes.Add(entry.Hash))
            {
                var old = _entries.FindIndex(e => e.ProducerRunId == entry.ProducerRunId && e.GroupId == entry.GroupId);
                if (old >= 0)
                {
                    _hashes.Remove(_entries[old].Hash);
                    _entries.RemoveAt(old);
                    replaced++;
                }

                _entries.Add(entry);
                accepted++;
            }
            else
            {
                duplicates++;
            }
        }

        GroupSize = size;
        Accepted += accepted;
        Duplicates += duplicates;
        Evicted += replaced;
        var evicted = replaced + Evict(now);
        return new PoolPublishResult(accepted, duplicates, evicted, _entries.Count);
    }

    /// <summary>Removes groups past the time or step age, then the oldest past the capacity. Returns how many went.</summary>
    public int Evict(DateTime now)
    {
        var before = _entries.Count;
        var newestStep = _entries.Count == 0 ? 0 : _entries.Max(e => e.Step);
        _entries.RemoveAll(e => now - e.ProducedAt > _limits.MaxAge || (_limits.MaxAgeSteps > 0 && newestStep - e.Step > _limits.MaxAgeSteps));
        if (_entries.Count > _limits.ShardCapacity)
        {
            // Oldest first: by production time, then step, then arrival.
            var order = _entries.Select((e, i) => (Entry: e, Index: i)).OrderBy(p => p.Entry.ProducedAt).ThenBy(p => p.Entry.Step).ThenBy(p => p.Index).ToList();
            var drop = order.Take(_entries.Count - _limits.ShardCapacity).Select(p => p.Entry).ToHashSet();
            _entries.RemoveAll(drop.Contains);
        }

        var removed = before - _entries.Count;
        if (removed > 0)
        {
            _hashes.Clear();
            _hashes.UnionWith(_entries.Select(e => e.Hash));
            Evicted += removed;
        }

        if (_entries.Count == 0)
        {
            GroupSize = 0;   // an emptied shard takes the next group's size (status: 0 while empty)
        }

        return removed;
    }

    /// <summary>
    /// Groups the receiver may use — not its own, of its task, produced at or after <see cref="PoolDraw.MinStep"/>, and for
    /// <c>informative-uniform</c> with differing producer rewards — as a seeded uniform sample or the most recent ones.
    /// </summary>
    public PoolDrawResult Draw(PoolDraw draw, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(draw);
        Evict(now);
        var informativeOnly = draw.Select == Abstractions.Training.SwarmSettings.Selections.InformativeUniform;
        var eligible = _entries
            .Where(e => e.ProducerRunId != draw.ReceiverRunId && e.Task == draw.Task && e.Step >= draw.MinStep && (!informativeOnly || e.Informative))
            .ToList();
        if (draw.Count <= 0 || eligible.Count == 0)
        {
            return new PoolDrawResult([], eligible.Count, _entries.Count);
        }

        if (draw.Select == Abstractions.Training.SwarmSettings.Selections.Recent)
        {
            return new PoolDrawResult([.. eligible.Select((g, i) => (Group: g, Index: i)).OrderByDescending(p => p.Group.Step).ThenByDescending(p => p.Group.ProducedAt).ThenByDescending(p => p.Index).Take(draw.Count).Select(p => Read(p.Group))], eligible.Count, _entries.Count);
        }

        // Partial Fisher–Yates: the first k of a seeded shuffle.
        var random = new Random(draw.Seed);
        var k = Math.Min(draw.Count, eligible.Count);
        for (var i = 0; i < k; i++)
        {
            var j = random.Next(i, eligible.Count);
            (eligible[i], eligible[j]) = (eligible[j], eligible[i]);
        }

        return new PoolDrawResult([.. eligible.Take(k).Select(Read)], eligible.Count, _entries.Count);
    }

    /// <summary>Size, capacity, groups per producer and the ages held.</summary>
    public PoolShardStatus Status(string key, string silo) => new()
    {
        Key = key,
        Size = _entries.Count,
        Capacity = _limits.ShardCapacity,
        GroupSize = GroupSize,
        Producers = _entries.GroupBy(e => e.ProducerRunId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
        MinStep = _entries.Count == 0 ? 0 : _entries.Min(e => e.Step),
        MaxStep = _entries.Count == 0 ? 0 : _entries.Max(e => e.Step),
        Oldest = _entries.Count == 0 ? null : _entries.Min(e => e.ProducedAt),
        Newest = _entries.Count == 0 ? null : _entries.Max(e => e.ProducedAt),
        Accepted = Accepted,
        Duplicates = Duplicates,
        Evicted = Evicted,
        Silo = silo,
    };
}
