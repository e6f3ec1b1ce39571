using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>Per-trajectory advantages and their broadcast to tokens.</summary>
/// <param name="PerTrajectory">One advantage per trajectory, in input order.</param>
/// <param name="PerToken">[batch, seq] advantages, the trajectory's value on every mask-1 token and 0 elsewhere.</param>
public sealed record AdvantageResult(float[] PerTrajectory, Tensor PerToken);

/// <summary>
/// Outcome-reward advantage estimators (verl <c>core_algos.py</c> semantics), computed on managed arrays in double
/// precision: the score of trajectory i is <c>scores[i]</c> (the sum of its token rewards, docs/ALGORITHMS.md §0.1) and its
/// group is <c>groupIds[i]</c> (the prompt uid). <c>returns</c> equal the advantages for all of these.
/// </summary>
public static class AdvantageEstimators
{
    /// <summary>ε under the group std in GRPO (verl <c>epsilon</c>).</summary>
    public const double DefaultEpsilon = 1e-6;

    /// <summary>ε under the variance in verl's <c>masked_whiten</c>.</summary>
    public const double WhitenEpsilon = 1e-8;

    /// <summary>
    /// The chosen estimator on the scores, then broadcast to tokens with <paramref name="responseMask"/> [batch, seq]
    /// (for multi-turn this is the loss mask: tool-output tokens are 0).
    /// </summary>
    public static AdvantageResult Compute<TKey>(
        AdvantageEstimator estimator,
        IReadOnlyList<float> scores,
        IReadOnlyList<TKey> groupIds,
        Tensor responseMask,
        double epsilon = DefaultEpsilon)
        where TKey : notnull
    {
        var tokenCounts = TokenCounts(responseMask);
        var perTrajectory = ComputePerTrajectory(estimator, scores, groupIds, tokenCounts, epsilon);
        return new AdvantageResult(perTrajectory, BroadcastToTokens(perTrajectory, responseMask));
    }

    /// <summary>
    /// The chosen estimator on managed arrays. <paramref name="tokenCounts"/> (valid tokens per trajectory) is needed
    /// only by <see cref="AdvantageEstimator.ReinforcePlusPlusBaseline"/>, whose whitening is over tokens.
    /// </summary>
    public static float[] ComputePerTrajectory<TKey>(
        AdvantageEstimator estimator,
        IReadOnlyList<float> scores,
        IReadOnlyList<TKey> groupIds,
        IReadOnlyList<int>? tokenCounts = null,
        double epsilon = DefaultEpsilon)
        where TKey : notnull => estimator switch
        {
            AdvantageEstimator.Grpo => Grpo(scores, groupIds, epsilon),
            AdvantageEstimator.DrGrpo => DrGrpo(scores, groupIds),
            AdvantageEstimator.Rloo => Rloo(scores, groupIds),
            AdvantageEstimator.ReinforcePlusPlusBaseline => ReinforcePlusPlusBaseline(
                scores,
                groupIds,
                tokenCounts ?? throw new ArgumentNullException(
                    nameof(tokenCounts), "REINFORCE++-baseline whitens over tokens and needs the token counts.")),
            _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, null),
        };

    /// <summary>
    /// GRPO (docs/ALGORITHMS.md §0.2): A_i = (s_i − μ_g)/(σ_g + ε), σ unbiased (n − 1); a group of size 1 uses μ = 0, σ = 1.
    /// </summary>
    public static float[] Grpo<TKey>(IReadOnlyList<float> scores, IReadOnlyList<TKey> groupIds, double epsilon = DefaultEpsilon)
        where TKey : notnull
    {
        var result = new float[scores.Count];
        foreach (var members in Groups(scores, groupIds))
        {
            var (mean, std) = members.Count == 1 ? (0.0, 1.0) : MeanAndUnbiasedStd(scores, members);
            foreach (var i in members)
            {
                result[i] = (float)((scores[i] - mean) / (std + epsilon));
            }
        }
        return result;
    }

    /// <summary>Dr.GRPO: A_i = s_i − μ_g (no std); a group of size 1 uses μ = 0.</summary>
    public static float[] DrGrpo<TKey>(IReadOnlyList<float> scores, IReadOnlyList<TKey> groupIds)
        where TKey : notnull => Centred(scores, groupIds);

    /// <summary>
    /// RLOO (verl <c>compute_rloo_outcome_advantage</c>): A_i = s_i − mean_{j≠i} s_j = n/(n−1)·(s_i − μ_g);
    /// a group of size 1 keeps its raw score.
    /// </summary>
    public static float[] Rloo<TKey>(IReadOnlyList<float> scores, IReadOnlyList<TKey> groupIds)
        where TKey : notnull
    {
        var result = new float[scores.Count];
        foreach (var members in Groups(scores, groupIds))
        {
            var n = members.Count;
            var mean = n == 1 ? 0.0 : Mean(scores, members);
            foreach (var i in members)
            {
                result[i] = n == 1 ? scores[i] : (float)((scores[i] - mean) * n / (n - 1));
            }
        }
        return result;
    }

    /// <summary>
    /// REINFORCE++ with baseline, as verl <c>compute_reinforce_plus_plus_baseline_outcome_advantage</c>: a_i = s_i − μ_g
    /// (μ = 0 for a group of size 1), broadcast to tokens, then <c>masked_whiten</c> over all valid tokens of the batch:
    /// mean M = Σ n_i·a_i / N, unbiased variance V = Σ n_i·(a_i − M)² / (N − 1), A_i = (a_i − M)/√(V + 1e-8), where n_i is
    /// the valid-token count of trajectory i and N = Σ n_i. The whitening is therefore token-weighted (longer
    /// trajectories count more), which is verl's choice and is kept; since every token of a trajectory has the same
    /// value, the result is still one number per trajectory. verl raises for N ≤ 1; so does this.
    /// </summary>
    public static float[] ReinforcePlusPlusBaseline<TKey>(
        IReadOnlyList<float> scores, IReadOnlyList<TKey> groupIds, IReadOnlyList<int> tokenCounts)
        where TKey : notnull
    {
        if (tokenCounts.Count != scores.Count)
        {
            throw new ArgumentException("One token count per trajectory is required.", nameof(tokenCounts));
        }
        var centred = Centred(scores, groupIds);
        double totalTokens = 0, weighted = 0;
        for (var i = 0; i < centred.Length; i++)
        {
            totalTokens += tokenCounts[i];
            weighted += tokenCounts[i] * (double)centred[i];
        }
        if (totalTokens <= 1)
        {
            throw new ArgumentException("Whitening needs at least two valid tokens in the batch (verl masked_var).");
        }
        var mean = weighted / totalTokens;
        double squares = 0;
        for (var i = 0; i < centred.Length; i++)
        {
            squares += tokenCounts[i] * (centred[i] - mean) * (centred[i] - mean);
        }
        var invStd = 1.0 / Math.Sqrt((squares / (totalTokens - 1)) + WhitenEpsilon);
        var result = new float[centred.Length];
        for (var i = 0; i < centred.Length; i++)
        {
            result[i] = (float)((centred[i] - mean) * invStd);
        }
        return result;
    }

    /// <summary>Puts <paramref name="perTrajectory"/>[b] on every token of row b where the mask is non-zero.</summary>
    public static Tensor BroadcastToTokens(IReadOnlyList<float> perTrajectory, Tensor responseMask)
    {
        if (responseMask.dim() != 2 || responseMask.shape[0] != perTrajectory.Count)
        {
            throw new ArgumentException("The mask must be [batch, seq] with one row per trajectory.", nameof(responseMask));
        }
        var column = tensor(perTrajectory.ToArray(), [perTrajectory.Count, 1], device: responseMask.device); // [batch, 1]
        var valid = responseMask.gt(0);                                                                      // [batch, seq]
        return where(valid, column.expand(responseMask.shape), zeros(responseMask.shape, device: responseMask.device)); // [batch, seq]
    }

    /// <summary>Valid (non-zero) tokens per row of a [batch, seq] mask.</summary>
    public static int[] TokenCounts(Tensor responseMask)
    {
        using var counts = responseMask.gt(0).sum(1).to_type(ScalarType.Int32).cpu(); // [batch]
        return counts.data<int>().ToArray();
    }

    private static float[] Centred<TKey>(IReadOnlyList<float> scores, IReadOnlyList<TKey> groupIds)
        where TKey : notnull
    {
        var result = new float[scores.Count];
        foreach (var members in Groups(scores, groupIds))
        {
            var mean = members.Count == 1 ? 0.0 : Mean(scores, members);
            foreach (var i in members)
            {
                result[i] = (float)(scores[i] - mean);
            }
        }
        return result;
    }

    /// <summary>Member indices per group, groups in order of first appearance.</summary>
    internal static List<List<int>> Groups<TKey, TValue>(IReadOnlyList<TValue> values, IReadOnlyList<TKey> groupIds)
        where TKey : notnull
    {
        if (values.Count != groupIds.Count)
        {
            throw new ArgumentException($"{values.Count} values but {groupIds.Count} group ids.", nameof(groupIds));
        }
        var index = new Dictionary<TKey, int>();
        var groups = new List<List<int>>();
        for (var i = 0; i < groupIds.Count; i++)
        {
            if (!index.TryGetValue(groupIds[i], out var g))
            {
                g = groups.Count;
                index[groupIds[i]] = g;
                groups.Add([]);
            }
            groups[g].Add(i);
        }
        return groups;
    }

    private static double Mean(IReadOnlyList<float> scores, List<int> members)
    {
        double sum = 0;
        foreach (var i in members)
        {
            sum += scores[i];
        }
        return sum / members.Count;
    }

    private static (double Mean, double Std) MeanAndUnbiasedStd(IReadOnlyList<float> scores, List<int> members)
    {
        var mean = Mean(scores, members);
        double squares = 0;
        foreach (var i in members)
        {
            squares += (scores[i] - mean) * (scores[i] - mean);
        }
        return (mean, Math.Sqrt(squares / (members.Count - 1)));
    }
}
