namespace AgentRl.Policy.Branching;

/// <summary>One finished trajectory of a rollout tree, as attribution needs it.</summary>
/// <param name="Path">Node key (<see cref="RolloutNode.Path"/>).</param>
/// <param name="ParentPath">Parent key; null for roots.</param>
/// <param name="ForkPosition">Response tokens shared with the parent.</param>
/// <param name="Length">Response tokens (model and tool tokens; masks apply per token and are shared by copies).</param>
/// <param name="Advantage">The trajectory's group advantage Â_i (GRPO over the M full sequences, computed elsewhere).</param>
/// <param name="SequenceWeight">
/// c_i, the trajectory's coefficient in the loss aggregation: 1 for <c>token-mean</c>, <c>token-sum</c> and
/// <c>seq-mean-token-sum-norm</c>; 1 / (trainable tokens of i) for <c>seq-mean-token-mean</c>.
/// </param>
public sealed record TreeTrajectory(string Path, string? ParentPath, int ForkPosition, int Length, double Advantage, double SequenceWeight = 1.0)
{
    public static TreeTrajectory From(RolloutNode node, int length, double advantage, double sequenceWeight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(node);
        return new TreeTrajectory(node.Path, node.ParentPath, node.ForkPosition, length, advantage, sequenceWeight);
    }
}

/// <summary>A per-token policy-gradient term: the segment's tokens contribute Weight·ℓ(r_t, Advantage).</summary>
public sealed record AdvantageTerm(double Advantage, double Weight);

/// <summary>
/// Tokens [Start, End) of <see cref="SourcePath"/>'s response, physically shared by every trajectory in
/// <see cref="Members"/> (same ids, same context, so same logprobs and ratios). Train it once.
/// </summary>
/// <param name="SourcePath">The member (earliest in input order) whose token positions hold the segment.</param>
/// <param name="Start">First response token index (inclusive).</param>
/// <param name="End">Last response token index (exclusive).</param>
/// <param name="Members">Trajectories that contain these tokens; the copy count d = Members.Count.</param>
/// <param name="Weight">Σ_{j∈Members} c_j: the weight of sign-free per-token terms (KL, entropy bonus).</param>
/// <param name="Terms">Policy-gradient terms; per token the loss is Σ_terms Weight·ℓ(r_t, Advantage).</param>
public sealed record TokenSegment(
    string SourcePath, int Start, int End, IReadOnlyList<string> Members, double Weight, IReadOnlyList<AdvantageTerm> Terms)
{
    public int TokenCount => End - Start;
}

/// <summary>
/// Advantage attribution on a rollout tree (docs/ALGORITHMS.md §1.4) and prefix deduplication.
/// <list type="bullet">
/// <item><c>soft</c> (default; the reference's only path): each trajectory's tokens carry its own Â_i, so a prefix shared
/// by d trajectories is trained d times, once per descendant.</item>
/// <item><c>hard</c> (paper): a token shared by the trajectories S gets (1/|S|)·Σ_{j∈S} Â_j; branch-specific tokens keep
/// their own Â_i. Not in the reference code.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>Deduplication (<see cref="Deduplicate"/>) yields each physical token once. Write the non-deduplicated loss as
/// (1/Z)·Σ_i c_i Σ_t m_t ℓ(r_t, A_{i,t}) with Z the original normaliser. The deduplicated loss
/// (1/Z)·Σ_segments Σ_t m_t Σ_terms w·ℓ(r_t, a) equals it, in value and gradient, when:</para>
/// <list type="bullet">
/// <item><c>hard</c>: every copy has the same A, so one term (Ā, Σc_j) is exact for any per-token loss ℓ.</item>
/// <item><c>soft</c>: the members' advantages differ, so exactness needs ℓ linear in A within each sign. Vanilla
/// dual-clip PPO, DAPO clip-higher and AEPO's stop-gradient clip are (ℓ = −A·g₊(r) for A &gt; 0, −A·g₋(r) for A &lt; 0), so
/// one term per sign — (Σ c_j A_j / W, W) over the positive, then the negative members — is exact.</item>
/// <item>Aggregation: <c>token-mean</c> (Z = the original masked token count Σ_seg d·Σ_t m_t, not the unique count),
/// <c>token-sum</c> and <c>seq-mean-token-sum-norm</c> with c = 1; <c>seq-mean-token-mean</c> with c_j = 1/(trainable tokens of j) and Z = the sequence count.</item>
/// </list>
/// <para>Not exact: sequence-level ratios (GSPO), batch statistics over tokens that deduplication changes (AEPO's
/// entropy standardisation, Clip-Cov/KL-Cov top-k selection), and any term that is not a per-token sum.</para>
/// </remarks>
public static class TreeAttributions
{
    public const string Soft = "soft";
    public const string Hard = "hard";

    public static IReadOnlyList<string> Names { get; } = [Soft, Hard];

    /// <summary>Per-token advantages, one row per trajectory (input order), without deduplication.</summary>
    public static double[][] TokenAdvantages(IReadOnlyList<TreeTrajectory> trajectories, string attribution)
    {
        var shared = SharedPrefixes(trajectories);
        var rows = new double[trajectories.Count][];
        for (var i = 0; i < trajectories.Count; i++)
        {
            rows[i] = new double[trajectories[i].Length];
            foreach (var (start, end, members) in Runs(trajectories, shared, i))
            {
                var advantage = attribution switch
                {
                    Soft => trajectories[i].Advantage,
                    Hard => members.Average(j => trajectories[j].Advantage),
                    _ => throw UnknownAttribution(attribution),
                };
                Array.Fill(rows[i], advantage, start, end - start);
            }
        }

        return rows;
    }

    /// <summary>The unique token segments of the tree, each with the weights and advantage terms described on the class.</summary>
    public static IReadOnlyList<TokenSegment> Deduplicate(IReadOnlyList<TreeTrajectory> trajectories, string attribution)
    {
        if (attribution is not (Soft or Hard))
        {
            throw UnknownAttribution(attribution);
        }

        var shared = SharedPrefixes(trajectories);
        var segments = new List<TokenSegment>();
        for (var i = 0; i < trajectories.Count; i++)
        {
            foreach (var (start, end, members) in Runs(trajectories, shared, i))
            {
                if (members[0] != i)
                {
                    continue; // emitted by its earliest member
                }

                var weight = members.Sum(j => trajectories[j].SequenceWeight);
                IReadOnlyList<AdvantageTerm> terms = attribution == Hard
                    ? [new AdvantageTerm(members.Average(j => trajectories[j].Advantage), weight)]
                    : SignTerms(trajectories, members);
                segments.Add(new TokenSegment(
                    trajectories[i].Path, start, end, [.. members.Select(j => trajectories[j].Path)], weight, terms));
            }
        }

        return segments;
    }

    /// <summary>
    /// s[i, j]: response tokens trajectories i and j share — the minimum fork position on the tree path between them
    /// (capped by both lengths), 0 across different roots, and L_i on the diagonal.
    /// </summary>
    public static int[,] SharedPrefixes(IReadOnlyList<TreeTrajectory> trajectories)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < trajectories.Count; i++)
        {
            if (!index.TryAdd(trajectories[i].Path, i))
            {
                throw new ArgumentException($"Duplicate trajectory '{trajectories[i].Path}'.", nameof(trajectories));
            }
        }

        // Ancestor chains with the running minimum of fork positions: up[i][k] = (node, min fork on the way up to it).
        var up = new List<(int Node, int MinFork)>[trajectories.Count];
        for (var i = 0; i < trajectories.Count; i++)
        {
            up[i] = [(i, int.MaxValue)];
            var current = i;
            var minFork = int.MaxValue;
            while (trajectories[current].ParentPath is { } parentPath)
            {
                if (!index.TryGetValue(parentPath, out var parent))
                {
                    throw new ArgumentException($"Trajectory '{trajectories[current].Path}' names missing parent '{parentPath}'.", nameof(trajectories));
                }

                minFork = Math.Min(minFork, trajectories[current].ForkPosition);
                current = parent;
                if (up[i].Count > trajectories.Count)
                {
                    throw new ArgumentException($"The parent links from '{trajectories[i].Path}' form a cycle.", nameof(trajectories));
                }

                up[i].Add((current, minFork));
            }
        }

        var shared = new int[trajectories.Count, trajectories.Count];
        for (var i = 0; i < trajectories.Count; i++)
        {
            var ancestors = up[i].ToDictionary(a => a.Node, a => a.MinFork);
            for (var j = 0; j < trajectories.Count; j++)
            {
                var cap = Math.Min(trajectories[i].Length, trajectories[j].Length);
                shared[i, j] = 0;
                foreach (var (node, minFork) in up[j])
                {
                    if (ancestors.TryGetValue(node, out var minForkFromI))
                    {
                        shared[i, j] = Math.Clamp(Math.Min(minFork, minForkFromI), 0, cap);
                        break;
                    }
                }
            }
        }

        return shared;
    }

    private static IEnumerable<(int Start, int End, List<int> Members)> Runs(IReadOnlyList<TreeTrajectory> trajectories, int[,] shared, int i)
    {
        var length = trajectories[i].Length;
        var cuts = new SortedSet<int> { 0, length };
        for (var j = 0; j < trajectories.Count; j++)
        {
            if (j != i && shared[i, j] > 0 && shared[i, j] < length)
            {
                cuts.Add(shared[i, j]);
            }
        }

        var start = 0;
        foreach (var end in cuts.Where(c => c > 0))
        {
            // No cut inside (start, end): j shares all of the run iff s[i, j] ≥ end.
            var members = Enumerable.Range(0, trajectories.Count).Where(j => j == i || shared[i, j] >= end).ToList();
            yield return (start, end, members);
            start = end;
        }
    }

    private static AdvantageTerm[] SignTerms(IReadOnlyList<TreeTrajectory> trajectories, List<int> members)
    {
        var terms = new List<AdvantageTerm>(2);
        foreach (var sign in new[] { 1, -1 })
        {
            var group = members.Where(j => Math.Sign(trajectories[j].Advantage) == sign).ToList();
            var weight = group.Sum(j => trajectories[j].SequenceWeight);
            if (group.Count > 0 && weight != 0.0)
            {
                terms.Add(new AdvantageTerm(group.Sum(j => trajectories[j].SequenceWeight * trajectories[j].Advantage) / weight, weight));
            }
        }

        return [.. terms];
    }

    private static ArgumentException UnknownAttribution(string attribution) =>
        new($"Unknown attribution '{attribution}'. Known: {Soft}, {Hard}.", nameof(attribution));
}
