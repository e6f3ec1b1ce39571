namespace AgentRl.Policy.Branching;

/// <summary>A fork request from one path after a tool call.</summary>
/// <param name="ParentPath">The path that wants to fork.</param>
/// <param name="ForkPosition">Response tokens the children share with the parent (tool result included).</param>
/// <param name="EntropyDelta">ΔH that triggered the request; the rank key when ranking is on.</param>
/// <param name="Children">Children requested (from <see cref="IBranchPolicy.ChildrenToRequest"/>).</param>
public sealed record ForkCandidate(string ParentPath, int ForkPosition, double EntropyDelta, int Children = 1);

/// <summary>The trajectories that make a prompt's group, and how far it is from the budget.</summary>
/// <param name="Members">Paths in creation order; with <see cref="ShortGroupPolicy.DuplicateLast"/> the last one repeats.</param>
/// <param name="Shortfall">M minus the distinct finished trajectories.</param>
/// <param name="DuplicatedCount">Copies added by <see cref="ShortGroupPolicy.DuplicateLast"/> (log it: it shrinks group variance).</param>
public sealed record GroupAssembly(IReadOnlyList<string> Members, int Shortfall, int DuplicatedCount);

/// <summary>
/// The budget and the record of one prompt's rollout tree for one step: M trajectories in all, N started from the prompt,
/// the other M − N spent on forks and, once every path has ended, on fresh top-ups. All members are thread-safe: branch
/// grains may ask concurrently, and no sequence of calls creates more than M trajectories.
/// </summary>
/// <remarks>
/// Two ways to spend the fork budget:
/// <list type="bullet">
/// <item><see cref="ProposeFork"/> during a round, then <see cref="ResolveRound"/>: competing candidates are granted by ΔH,
/// highest first (docs/ALGORITHMS.md §9 fix; the reference walks slots in index order, which <see cref="RankForksByEntropy"/> =
/// false reproduces).</item>
/// <item><see cref="TryReserveForks"/>: granted at once, first come first served, for fully asynchronous branches.</item>
/// </list>
/// </remarks>
public sealed class RolloutBudget
{
    private readonly Lock _gate = new();
    private readonly List<RolloutNode> _nodes = [];
    private readonly Dictionary<string, RolloutNode> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _childCounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _active = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private readonly List<ForkCandidate> _pending = [];
    private int _rootCount;
    private int _createdAtRoundStart;
    private int _consecutiveBranchRounds;

    public RolloutBudget(int totalTrajectories, int initialTrajectories, bool rankForksByEntropy = true, EntropyBaselines? baselines = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalTrajectories, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialTrajectories, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(initialTrajectories, totalTrajectories);
        TotalTrajectories = totalTrajectories;
        InitialTrajectories = initialTrajectories;
        RankForksByEntropy = rankForksByEntropy;
        Baselines = baselines ?? new EntropyBaselines();
        for (var i = 0; i < initialTrajectories; i++)
        {
            AddRoot(RolloutNodeKind.Initial);
        }

        InitialNodes = [.. _nodes];
        _createdAtRoundStart = _nodes.Count;
    }

    /// <summary>A budget from the options: N from the named allocator (with the probe's entropies for <c>aepo-premonitor</c>).</summary>
    public static RolloutBudget Create(BranchingOptions options, PreMonitorEntropy? preMonitor = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var n = BudgetAllocators.Create(options).InitialTrajectories(options.TotalTrajectories, preMonitor);
        return new RolloutBudget(options.TotalTrajectories, n, options.RankForksByEntropy);
    }

    /// <summary>M.</summary>
    public int TotalTrajectories { get; }

    /// <summary>N.</summary>
    public int InitialTrajectories { get; }

    public bool RankForksByEntropy { get; }

    /// <summary>H_init per path for this prompt and step (fresh per budget: the §9 reset fix).</summary>
    public EntropyBaselines Baselines { get; }

    /// <summary>The N initial nodes, <c>0</c> … <c>N−1</c>, all active.</summary>
    public IReadOnlyList<RolloutNode> InitialNodes { get; }

    /// <summary>Trajectories created so far (never above M).</summary>
    public int Created
    {
        get
        {
            lock (_gate)
            {
                return _nodes.Count;
            }
        }
    }

    /// <summary>M minus the trajectories created so far.</summary>
    public int Remaining
    {
        get
        {
            lock (_gate)
            {
                return TotalTrajectories - _nodes.Count;
            }
        }
    }

    /// <summary>AEPO's l (§2.1 b): updated by <see cref="EndRound"/>.</summary>
    public int ConsecutiveBranchRounds
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveBranchRounds;
            }
        }
    }

    /// <summary>Paths started and not yet finished.</summary>
    public int ActiveCount
    {
        get
        {
            lock (_gate)
            {
                return _active.Count;
            }
        }
    }

    /// <summary>A snapshot of the tree in creation order.</summary>
    public IReadOnlyList<RolloutNode> Nodes
    {
        get
        {
            lock (_gate)
            {
                return [.. _nodes];
            }
        }
    }

    /// <summary>Queues a fork request for <see cref="ResolveRound"/>. Requests for 0 children are ignored.</summary>
    public void ProposeFork(ForkCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentOutOfRangeException.ThrowIfNegative(candidate.Children);
        ArgumentOutOfRangeException.ThrowIfNegative(candidate.ForkPosition);
        lock (_gate)
        {
            RequireNode(candidate.ParentPath);
            if (candidate.Children > 0)
            {
                _pending.Add(candidate);
            }
        }
    }

    /// <summary>
    /// Grants the queued requests within the remaining budget, in ΔH order (highest first; ties by the parent's creation
    /// order) when <see cref="RankForksByEntropy"/>, else in the parent's creation order. Each candidate gets up to its
    /// requested children. Returns the new (active) nodes; the queue is emptied.
    /// </summary>
    public IReadOnlyList<RolloutNode> ResolveRound()
    {
        lock (_gate)
        {
            var ordered = _pending
                .Select((candidate, index) => (candidate, index, parentOrder: _byPath[candidate.ParentPath].Order))
                .OrderBy(c => RankForksByEntropy ? -c.candidate.EntropyDelta : 0.0)
                .ThenBy(c => c.parentOrder)
                .ThenBy(c => c.index)
                .Select(c => c.candidate)
                .ToList();
            _pending.Clear();
            var granted = new List<RolloutNode>();
            foreach (var candidate in ordered)
            {
                var children = Math.Min(candidate.Children, TotalTrajectories - _nodes.Count);
                for (var i = 0; i < children; i++)
                {
                    granted.Add(AddChild(candidate.ParentPath, candidate.ForkPosition));
                }
            }

            return granted;
        }
    }

    /// <summary>Grants up to <paramref name="children"/> forks at once, first come first served. Returns the new nodes (possibly none).</summary>
    public IReadOnlyList<RolloutNode> TryReserveForks(string parentPath, int forkPosition, int children = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(forkPosition);
        ArgumentOutOfRangeException.ThrowIfNegative(children);
        lock (_gate)
        {
            RequireNode(parentPath);
            var granted = Math.Min(children, TotalTrajectories - _nodes.Count);
            var result = new List<RolloutNode>(granted);
            for (var i = 0; i < granted; i++)
            {
                result.Add(AddChild(parentPath, forkPosition));
            }

            return result;
        }
    }

    /// <summary>Marks a path as ended (EOS, limits, error). Idempotent.</summary>
    public void MarkFinished(string path)
    {
        lock (_gate)
        {
            RequireNode(path);
            _active.Remove(path);
            _finished.Add(path);
        }
    }

    /// <summary>
    /// When no path is active, no fork request is pending and budget is left, starts up to <paramref name="maxCount"/>
    /// fresh trajectories from the prompt (trajectory-level, not forks; the reference adds one per round). Otherwise none.
    /// </summary>
    public IReadOnlyList<RolloutNode> ReserveTopUps(int maxCount = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_gate)
        {
            if (_active.Count > 0 || _pending.Count > 0)
            {
                return [];
            }

            var count = Math.Min(maxCount, TotalTrajectories - _nodes.Count);
            var result = new List<RolloutNode>(count);
            for (var i = 0; i < count; i++)
            {
                result.Add(AddRoot(RolloutNodeKind.TopUp));
            }

            return result;
        }
    }

    /// <summary>
    /// Closes a lockstep round and updates AEPO's l: +1 if this prompt's tree grew (forks or top-ups) since the last
    /// call, else 0. The reference skips the update in rounds where no prompt of the batch grew; pass
    /// <paramref name="batchGrew"/> = false for that round to reproduce it.
    /// </summary>
    public void EndRound(bool batchGrew = true)
    {
        lock (_gate)
        {
            var grew = _nodes.Count > _createdAtRoundStart;
            _createdAtRoundStart = _nodes.Count;
            if (batchGrew)
            {
                _consecutiveBranchRounds = grew ? _consecutiveBranchRounds + 1 : 0;
            }
        }
    }

    /// <summary>
    /// The group once every path has ended. Short groups (fewer than M) follow <paramref name="policy"/>: throw
    /// (default), return short, or pad with copies of the last trajectory as the reference does.
    /// </summary>
    public GroupAssembly Assemble(ShortGroupPolicy policy = ShortGroupPolicy.Forbid)
    {
        lock (_gate)
        {
            if (_active.Count > 0)
            {
                throw new InvalidOperationException($"{_active.Count} paths are still running.");
            }

            var members = _nodes.Select(n => n.Path).ToList();
            var shortfall = TotalTrajectories - members.Count;
            if (shortfall == 0 || policy == ShortGroupPolicy.AllowShort)
            {
                return new GroupAssembly(members, shortfall, 0);
            }

            if (policy == ShortGroupPolicy.Forbid)
            {
                throw new InvalidOperationException(
                    $"The group has {members.Count} of {TotalTrajectories} trajectories; top up instead of padding with duplicates.");
            }

            var last = members[^1];
            for (var i = 0; i < shortfall; i++)
            {
                members.Add(last);
            }

            return new GroupAssembly(members, shortfall, shortfall);
        }
    }

    private void RequireNode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!_byPath.ContainsKey(path))
        {
            throw new ArgumentException($"No trajectory '{path}' in this tree.", nameof(path));
        }
    }

    private RolloutNode AddRoot(RolloutNodeKind kind)
    {
        var node = new RolloutNode(RolloutNode.RootPath(_rootCount++), null, 0, 0, kind, _nodes.Count);
        Add(node);
        return node;
    }

    private RolloutNode AddChild(string parentPath, int forkPosition)
    {
        var parent = _byPath[parentPath];
        _childCounts.TryGetValue(parentPath, out var index);
        _childCounts[parentPath] = index + 1;
        var node = new RolloutNode(RolloutNode.ChildPath(parentPath, index), parentPath, forkPosition, parent.Depth + 1, RolloutNodeKind.Fork, _nodes.Count);
        Add(node);
        return node;
    }

    private void Add(RolloutNode node)
    {
        if (_nodes.Count >= TotalTrajectories)
        {
            throw new InvalidOperationException("Budget exceeded.");
        }

        _nodes.Add(node);
        _byPath.Add(node.Path, node);
        _active.Add(node.Path);
    }
}
