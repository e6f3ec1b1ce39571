namespace AgentRl.Policy.Branching;

/// <summary>
/// The pieces for one prompt's rollout tree in one step, wired from <see cref="BranchingOptions"/>: the named entropy
/// estimator, fork rule and budget, plus the per-path baselines. An episode grain makes one per prompt and step and
/// calls it from its branches; all members are thread-safe.
/// </summary>
/// <remarks>
/// Which segment to pass is the caller's choice: the reference measures the segment that ended in the tool call (the
/// reaction to the previous tool result, §1.8 trap 2); the paper measures the k tokens generated after the new result
/// (§9: paper-faithful mode).
/// </remarks>
public sealed class BranchingSession
{
    private readonly Lock _randomGate = new();
    private readonly Random _random;

    public BranchingSession(BranchingOptions options, Random random, PreMonitorEntropy? preMonitor = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        Options = options;
        Estimator = EntropyEstimators.Create(options);
        Policy = BranchPolicies.Create(options);
        Budget = RolloutBudget.Create(options, preMonitor);
        _random = random;
    }

    public BranchingOptions Options { get; }

    public IEntropyEstimator Estimator { get; }

    public IBranchPolicy Policy { get; }

    public RolloutBudget Budget { get; }

    /// <summary>Ĥ of the segment and ΔH against the path's baseline (the first measured segment of a path sets it, ΔH = 0).</summary>
    public (double Entropy, double EntropyDelta) Measure(string path, SegmentEntropyInput segment)
    {
        var entropy = Estimator.Estimate(segment);
        return (entropy, Budget.Baselines.Delta(path, entropy));
    }

    /// <summary>Measures the segment and applies the fork rule; null when the rule asks for no child.</summary>
    public ForkCandidate? Evaluate(string path, int forkPosition, SegmentEntropyInput segment)
    {
        var (_, delta) = Measure(path, segment);
        var context = new BranchContext(delta, Budget.ConsecutiveBranchRounds);
        int children;
        lock (_randomGate)
        {
            children = Policy.ChildrenToRequest(context, _random);
        }

        return children > 0 ? new ForkCandidate(path, forkPosition, delta, children) : null;
    }

    /// <summary>Lockstep mode: evaluates and queues the request for <see cref="RolloutBudget.ResolveRound"/>.</summary>
    public ForkCandidate? Propose(string path, int forkPosition, SegmentEntropyInput segment)
    {
        var candidate = Evaluate(path, forkPosition, segment);
        if (candidate is not null)
        {
            Budget.ProposeFork(candidate);
        }

        return candidate;
    }

    /// <summary>Asynchronous mode: evaluates and reserves at once, first come first served. Returns the children granted.</summary>
    public IReadOnlyList<RolloutNode> RequestFork(string path, int forkPosition, SegmentEntropyInput segment)
    {
        var candidate = Evaluate(path, forkPosition, segment);
        return candidate is null ? [] : Budget.TryReserveForks(path, forkPosition, candidate.Children);
    }

    /// <summary>Top-ups once every path has ended, <see cref="BranchingOptions.TopUpsPerRound"/> at a time.</summary>
    public IReadOnlyList<RolloutNode> ReserveTopUps() => Budget.ReserveTopUps(Options.TopUpsPerRound);

    /// <summary>The finished group under <see cref="BranchingOptions.ShortGroup"/>.</summary>
    public GroupAssembly Assemble() => Budget.Assemble(Options.ShortGroup);
}
