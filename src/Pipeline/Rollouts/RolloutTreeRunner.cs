using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Branching;

namespace AgentRl.Pipeline.Rollouts;

/// <summary>One prompt's finished rollout tree: trajectories in creation order, the tree's nodes and what branching did.</summary>
public sealed record RolloutTreeResult(IReadOnlyList<Trajectory> Trajectories, IReadOnlyList<RolloutNode> Nodes, BranchingStats Stats);

/// <summary>
/// Runs one prompt's entropy-triggered rollout tree (docs/ALGORITHMS.md §1.3, §2.1) in lockstep rounds, as a plain class the
/// episode grain calls (and tests call without a cluster):
/// <list type="number">
/// <item>N initial trajectories from the prompt (the allocator's N; for <c>aepo-premonitor</c> after one probe trajectory
/// that is discarded).</item>
/// <item>A round runs every pending path to its end. Then, for each finished path in creation order, its first
/// generated segment sets the path's baseline H_init, and every later tool result is a fork candidate: the entropy of
/// the next k generated tokens gives ΔH, and the fork rule proposes children (paper-faithful segment, §9).</item>
/// <item>The round resolves: candidates are granted within M, ranked by ΔH; granted children start from the parent's
/// tokens up to the fork in the next round. AEPO's l counts consecutive rounds that grew.</item>
/// <item>When no path is left and budget is, top-ups start fresh from the prompt. The tree ends with exactly M
/// trajectories, is checked by <see cref="RolloutTreeValidator"/>, and every child's prefix is checked against its parent.</item>
/// </list>
/// Deciding after a path has ended rather than mid-generation gives each fork point the same information (the parent's
/// tokens up to k tokens after the tool result) and keeps the grains free of re-entrant calls; it differs from the
/// reference only in that forks wait for their parent's path to end.
/// </summary>
public sealed class RolloutTreeRunner(BranchingOptions options, int seed)
{
    /// <summary>The path of the AEPO pre-monitoring probe (never part of the group).</summary>
    public const string ProbePath = "probe";

    /// <summary>Runs one path: a root when <paramref name="parent"/> is null, else a child of it from <see cref="RolloutNode.ForkPosition"/>.</summary>
    public delegate Task<Trajectory> RunBranch(RolloutNode node, Trajectory? parent, int seed, CancellationToken cancellationToken);

    public BranchingOptions Options { get; } = options;

    public async Task<RolloutTreeResult> RunAsync(RunBranch run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var estimator = EntropyEstimators.Create(Options);
        PreMonitorEntropy? preMonitor = null;
        if (BudgetAllocators.Create(Options).NeedsPreMonitor)
        {
            var probe = await run(new RolloutNode(ProbePath, null, 0, 0, RolloutNodeKind.Initial, -1), null, NodeSeed(seed, ProbePath), cancellationToken);
            preMonitor = new PreMonitorEntropy(
                estimator.Estimate(FirstSegment(probe)),
                [.. ForkSegments(probe).Select(s => estimator.Estimate(s.Segment))]);
        }

        var session = new BranchingSession(Options, new Random(seed), preMonitor);
        var trajectories = new Dictionary<string, Trajectory>(StringComparer.Ordinal);
        var deltas = new List<double>();
        var deltaAt = new Dictionary<(string Path, int Position), double>();
        int forkPoints = 0, requested = 0, taken = 0, topUps = 0, rounds = 0;
        IReadOnlyList<RolloutNode> pending = session.Budget.InitialNodes;
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            rounds++;
            var results = await Task.WhenAll(pending.Select(node =>
                run(node, node.ParentPath is null ? null : trajectories[node.ParentPath], NodeSeed(seed, node.Path), cancellationToken)));
            for (var i = 0; i < pending.Count; i++)
            {
                trajectories[pending[i].Path] = results[i];
                session.Budget.MarkFinished(pending[i].Path);
            }

            for (var i = 0; i < pending.Count; i++)
            {
                var path = pending[i].Path;
                session.Measure(path, FirstSegment(results[i]));
                foreach (var (position, segment) in ForkSegments(results[i]))
                {
                    forkPoints++;
                    var delta = session.Measure(path, segment).EntropyDelta;
                    deltas.Add(delta);
                    deltaAt[(path, position)] = delta;
                    requested += session.Propose(path, position, segment)?.Children ?? 0;
                }
            }

            var granted = session.Budget.ResolveRound();
            taken += granted.Count;
            session.Budget.EndRound();
            pending = granted;
            if (pending.Count == 0)
            {
                pending = session.ReserveTopUps();
                topUps += pending.Count;
            }
        }

        var members = session.Assemble().Members;
        var nodes = session.Budget.Nodes;
        RolloutTreeValidator.ThrowIfInvalid(nodes, Options.TotalTrajectories, trajectories.ToDictionary(kv => kv.Key, kv => kv.Value.TokenIds.Length, StringComparer.Ordinal));
        foreach (var node in nodes.Where(n => n.ParentPath is not null))
        {
            var child = trajectories[node.Path];
            var parent = trajectories[node.ParentPath!];
            if (child.ParentPath != node.ParentPath || child.ForkPosition != node.ForkPosition
                || !child.TokenIds.AsSpan(0, node.ForkPosition).SequenceEqual(parent.TokenIds.AsSpan(0, node.ForkPosition)))
            {
                throw new InvalidOperationException($"Trajectory '{node.Path}' does not continue its parent '{node.ParentPath}' from position {node.ForkPosition}.");
            }
        }

        var stats = new BranchingStats(session.Budget.InitialTrajectories, forkPoints, requested, taken, topUps, rounds, [.. deltas]);
        // A child carries the ΔH of its fork point, so that a log of the tree shows why it forked there.
        var forks = nodes.Where(n => n.ParentPath is not null).ToDictionary(n => n.Path, n => deltaAt.TryGetValue((n.ParentPath!, n.ForkPosition), out var d) ? d : (double?)null, StringComparer.Ordinal);
        return new RolloutTreeResult([.. members.Select(p => forks.TryGetValue(p, out var d) ? trajectories[p] with { ForkEntropyDelta = d } : trajectories[p])], nodes, stats);
    }

    /// <summary>
    /// The seed of a path: roots <c>i</c> get the plain group's seed (seed·7919 + i), other paths mix in a stable
    /// (FNV-1a) hash of the path, so a tree is reproducible from the episode seed.
    /// </summary>
    public static int NodeSeed(int seed, string path)
    {
        if (int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var root))
        {
            return unchecked((seed * 7919) + root);
        }

        var hash = 2166136261u;
        foreach (var c in path)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return unchecked((seed * 7919) + (int)hash);
    }

    /// <summary>The first generated segment of a path: from the prompt for a root, from the fork for a child.</summary>
    public static SegmentEntropyInput FirstSegment(Trajectory trajectory) =>
        GeneratedFrom(trajectory, trajectory.ForkPosition ?? trajectory.PromptLength);

    /// <summary>
    /// The path's own fork candidates: the end of each of its tool results (after its fork, for a child) that is followed
    /// by generated tokens, with those tokens' entropies (the k tokens after the new result, §9 paper-faithful mode).
    /// </summary>
    public static IReadOnlyList<(int Position, SegmentEntropyInput Segment)> ForkSegments(Trajectory trajectory)
    {
        var start = trajectory.ForkPosition ?? trajectory.PromptLength;
        return [.. trajectory.ToolCalls
            .Where(c => c.ObservationLength > 0)
            .Select(c => c.ObservationStart + c.ObservationLength)
            .Where(end => end > start && end < trajectory.TokenIds.Length && trajectory.LossMask[end] == 1)
            .Distinct()
            .Order()
            .Select(end => (end, GeneratedFrom(trajectory, end)))];
    }

    private static SegmentEntropyInput GeneratedFrom(Trajectory trajectory, int start)
    {
        var entropies = new List<double>();
        var top = trajectory.TopLogprobEntropies is null ? null : new List<double>();
        for (var p = start; p < trajectory.TokenIds.Length && trajectory.LossMask[p] == 1; p++)
        {
            entropies.Add(trajectory.Entropies[p]);
            top?.Add(trajectory.TopLogprobEntropies![p]);
        }

        return new SegmentEntropyInput(TokenEntropies: entropies, TopLogprobEntropies: top);
    }
}
