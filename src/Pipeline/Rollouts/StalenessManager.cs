using AgentRl.Abstractions.Training;

namespace AgentRl.Pipeline.Rollouts;

/// <summary>
/// Bounded staleness for asynchronous training (AReaL, docs/ALGORITHMS.md §5.1). Rollout groups are numbered slots of the
/// training stream; a slot is admitted (its episode started) only while
/// <c>capacity = min(maxConcurrent − running, (η + v + 1)·B − (accepted + running)) &gt; 0</c>, where v counts the batches
/// trained so far and accepted the groups finished (consumed or waiting). A batch of B groups is taken oldest first from
/// the finished ones (earliest deadline first: a slot admitted at version a must be trained by batch a + η), and only when
/// the slots left over can still all be trained by their deadlines; otherwise it waits for an older slot still running.
/// So every group trained at version v was admitted at version ≥ v − η, and with η = 0 the batches are exactly the
/// synchronous run's.
/// </summary>
/// <remarks>
/// On resume, <see cref="Restore"/> sets accepted := consumed = v·B (AReaL's recovery rule: no capacity inflated by groups
/// that were in flight) and re-admits the slots that were in flight at the checkpoint before any new slot; they are
/// generated again under the current version (<see cref="Restarted"/>), none trained twice, none lost.
/// </remarks>
public sealed class StalenessManager
{
    private readonly SortedDictionary<long, int> _running = [];     // slot → admission version
    private readonly SortedDictionary<long, int> _finished = [];    // finished and not yet consumed: slot → admission version
    private readonly SortedSet<long> _consumedAbove = [];           // consumed slots ≥ the frontier
    private readonly Queue<long> _lost = new();                     // in flight at the restored checkpoint: admitted again first
    private long _frontier;                                         // every slot below it is consumed
    private long _nextSlot;
    private bool _batchTaken;

    /// <param name="batchSize">B: groups per training batch (<c>promptsPerStep</c>).</param>
    /// <param name="maxStaleness">η: the most versions a trained group may lag the trainer (0 = synchronous).</param>
    /// <param name="maxConcurrent">Episodes in flight at most; ≤ 0 = no limit beyond the staleness bound.</param>
    /// <param name="totalSlots">Groups the run trains on in all (steps × B); no slot is admitted past it.</param>
    /// <param name="maxUnconsumed">
    /// APRIL's over-provisioning (docs/ALGORITHMS.md §7): admitted groups not yet trained (running or finished) at most,
    /// ⌈overSampling·B⌉; ≤ 0 = no such cap.
    /// </param>
    public StalenessManager(int batchSize, int maxStaleness, int maxConcurrent, long totalSlots, int maxUnconsumed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxStaleness);
        ArgumentOutOfRangeException.ThrowIfNegative(totalSlots);
        (BatchSize, MaxStaleness, MaxConcurrent, TotalSlots, MaxUnconsumed) = (batchSize, maxStaleness, maxConcurrent, totalSlots, maxUnconsumed);
    }

    public int MaxUnconsumed { get; }

    public int BatchSize { get; }

    public int MaxStaleness { get; }

    public int MaxConcurrent { get; }

    public long TotalSlots { get; }

    /// <summary>v: batches trained so far (advanced by <see cref="AdvanceVersion"/>).</summary>
    public int Version { get; private set; }

    /// <summary>Episodes in flight.</summary>
    public int Running => _running.Count;

    /// <summary>Finished groups waiting to be taken into a batch.</summary>
    public int Waiting => _finished.Count;

    /// <summary>Groups consumed by batches so far.</summary>
    public long Consumed => _frontier + _consumedAbove.Count;

    /// <summary>AReaL's accepted: groups finished, consumed or waiting.</summary>
    public long Accepted => Consumed + _finished.Count;

    /// <summary>Slots admitted again after a resume because they were in flight at the checkpoint (cumulative).</summary>
    public int Restarted { get; private set; }

    /// <summary>Slots of the last batch taken that were admitted at an earlier version (carried over from an earlier step).</summary>
    public int CarriedOver { get; private set; }

    /// <summary>Slots that may be admitted now (≤ 0: none).</summary>
    public long Capacity
    {
        get
        {
            var staleness = ((long)(MaxStaleness + Version + 1) * BatchSize) - (Accepted + Running);
            var concurrency = MaxConcurrent > 0 ? MaxConcurrent - Running : long.MaxValue;
            var provisioned = MaxUnconsumed > 0 ? MaxUnconsumed - (Running + Waiting) : long.MaxValue;
            var remaining = _lost.Count + (TotalSlots - _nextSlot);
            return Math.Min(Math.Min(Math.Min(staleness, concurrency), provisioned), remaining);
        }
    }

    /// <summary>Admits the next slot (a slot lost at the restored checkpoint first); null when <see cref="Capacity"/> is 0.</summary>
    public long? TryAdmit()
    {
        if (Capacity <= 0)
        {
            return null;
        }

        long slot;
        if (_lost.Count > 0)
        {
            slot = _lost.Dequeue();
            Restarted++;
        }
        else
        {
            slot = _nextSlot++;
        }

        _running.Add(slot, Version);
        return slot;
    }

    /// <summary>The version (batches trained) at which a running or waiting slot was admitted.</summary>
    public int AdmittedAt(long slot) =>
        _running.TryGetValue(slot, out var v) || _finished.TryGetValue(slot, out v) ? v : throw new ArgumentException($"Slot {slot} is neither running nor waiting.", nameof(slot));

    /// <summary>A running slot's episode finished: its group waits to be taken.</summary>
    public void Complete(long slot)
    {
        if (!_running.Remove(slot, out var admitted))
        {
            throw new InvalidOperationException($"Slot {slot} is not running.");
        }

        _finished.Add(slot, admitted);
    }

    /// <summary>
    /// The next batch when it can be taken now: the B oldest finished slots (by admission version, then slot), provided
    /// the slots left over can still all be trained in time; null while fewer than B have finished or an older slot that
    /// must come first is still running. One batch per version: call <see cref="AdvanceVersion"/> after training on it.
    /// </summary>
    /// <remarks>
    /// A slot admitted at version a must be trained by batch a + η (its deadline). Batches take B slots each, so what is
    /// left after batch v can be trained in time only when, for every deadline t, at most (t − v)·B unconsumed slots have
    /// a deadline ≤ t. The capacity rule admits a slot only when that still holds, and taking the earliest deadlines first
    /// keeps it (an exchange argument: no other choice of B finished slots leaves less due earlier) — so the batch waits
    /// exactly when the oldest finished slots are not enough and a running one is due.
    /// </remarks>
    public IReadOnlyList<long>? TryTakeBatch()
    {
        if (_batchTaken)
        {
            throw new InvalidOperationException("A batch was taken at this version; advance the version after training on it.");
        }

        var due = (int)Math.Min(BatchSize, TotalSlots - Consumed);
        if (due <= 0 || _finished.Count < due)
        {
            return null;
        }

        var batch = _finished.OrderBy(p => p.Value).ThenBy(p => p.Key).Take(due).Select(p => p.Key).ToList();
        var taken = batch.ToHashSet();
        var left = _running.Values.Concat(_finished.Where(p => !taken.Contains(p.Key)).Select(p => p.Value)).Select(a => (long)a + MaxStaleness).Order().ToList();
        for (var i = 0; i < left.Count; i++)
        {
            if (i + 1 > (left[i] - Version) * BatchSize)
            {
                return null;   // i + 1 slots due by batch left[i], more than the batches after this one can take
            }
        }

        batch.Sort();
        CarriedOver = batch.Count(slot => _finished[slot] < Version);
        foreach (var slot in batch)
        {
            _finished.Remove(slot);
            _consumedAbove.Add(slot);
        }

        while (_consumedAbove.Remove(_frontier))
        {
            _frontier++;
        }

        _batchTaken = true;
        return batch;
    }

    /// <summary>The batch taken at this version was trained on: v + 1, and capacity for B more.</summary>
    public void AdvanceVersion()
    {
        if (!_batchTaken)
        {
            throw new InvalidOperationException("No batch was taken at this version.");
        }

        _batchTaken = false;
        Version++;
    }

    /// <summary>What a checkpoint keeps: which slots are consumed and how far the stream was admitted.</summary>
    public AsyncRolloutState Snapshot() => new()
    {
        ConsumedFrontier = _frontier,
        ConsumedAbove = [.. _consumedAbove],
        NextSlot = _nextSlot,
        Version = Version,
    };

    /// <summary>
    /// A manager resumed from a checkpoint's <paramref name="state"/>: accepted := consumed (= v·B), nothing running, and the
    /// slots in flight or waiting at the checkpoint (admitted, not consumed) admitted again first, oldest first.
    /// </summary>
    public static StalenessManager Restore(int batchSize, int maxStaleness, int maxConcurrent, long totalSlots, AsyncRolloutState state, int maxUnconsumed = 0)
    {
        ArgumentNullException.ThrowIfNull(state);
        var manager = new StalenessManager(batchSize, maxStaleness, maxConcurrent, totalSlots, maxUnconsumed)
        {
            _frontier = state.ConsumedFrontier,
            _nextSlot = Math.Max(state.NextSlot, state.ConsumedFrontier),
            Version = state.Version,
        };
        foreach (var slot in state.ConsumedAbove.Where(s => s >= state.ConsumedFrontier))
        {
            manager._consumedAbove.Add(slot);
        }

        if (manager.Consumed != (long)state.Version * batchSize && manager.Consumed < totalSlots)
        {
            throw new InvalidOperationException($"The checkpoint's async state has {manager.Consumed} consumed groups at version {state.Version}; {state.Version} batches of {batchSize} were expected.");
        }

        for (var slot = manager._frontier; slot < manager._nextSlot; slot++)
        {
            if (!manager._consumedAbove.Contains(slot))
            {
                manager._lost.Enqueue(slot);
            }
        }

        return manager;
    }
}
