using AgentRl.Policy.Branching;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Branching;

public sealed class TreeAttributionTests
{
    // 0 ──(fork at 4)── 0.0 ──(fork at 6)── 0.0.0        1 (separate root)
    // Shared: tokens [0,4) by {0, 0.0, 0.0.0}; [4,6) by {0.0, 0.0.0}.
    private static TreeTrajectory[] HandTree(Func<int, double>? sequenceWeight = null)
    {
        double W(int length) => sequenceWeight?.Invoke(length) ?? 1.0;
        return
        [
            new("0", null, 0, 10, 1.0, W(10)),
            new("0.0", "0", 4, 8, -1.0, W(8)),
            new("0.0.0", "0.0", 6, 9, 0.5, W(9)),
            new("1", null, 0, 5, -0.5, W(5)),
        ];
    }

    [Fact]
    public void SharedPrefixes_HandTree_IsMinimumForkOnTreePath()
    {
        var s = TreeAttributions.SharedPrefixes(HandTree());
        Assert.Equal(4, s[0, 1]);
        Assert.Equal(4, s[0, 2]);
        Assert.Equal(4, s[2, 0]);
        Assert.Equal(6, s[1, 2]);
        Assert.Equal(0, s[0, 3]);
        Assert.Equal(10, s[0, 0]);
    }

    [Fact]
    public void HardAttribution_HandTree_SharedTokensGetMeanOfSharersAdvantages()
    {
        var rows = TreeAttributions.TokenAdvantages(HandTree(), "hard");
        var third = 1.0 / 6.0; // mean(1, −1, 0.5)
        double[] Row(params (double Value, int Count)[] runs) => [.. runs.SelectMany(r => Enumerable.Repeat(r.Value, r.Count))];
        Assert.Equal(Row((third, 4), (1.0, 6)), rows[0], new Tolerance());
        Assert.Equal(Row((third, 4), (-0.25, 2), (-1.0, 2)), rows[1], new Tolerance());
        Assert.Equal(Row((third, 4), (-0.25, 2), (0.5, 3)), rows[2], new Tolerance());
        Assert.Equal(Row((-0.5, 5)), rows[3], new Tolerance());
    }

    [Fact]
    public void SoftAttribution_HandTree_EveryTokenKeepsItsTrajectoryAdvantage()
    {
        var rows = TreeAttributions.TokenAdvantages(HandTree(), "soft");
        Assert.All(rows[1], a => Assert.Equal(-1.0, a));
        Assert.Equal(9, rows[2].Length);
    }

    [Fact]
    public void Deduplicate_HandTree_EmitsEachPhysicalTokenOnce()
    {
        var segments = TreeAttributions.Deduplicate(HandTree(), "soft");
        Assert.Equal(
            [("0", 0, 4, 3), ("0", 4, 10, 1), ("0.0", 4, 6, 2), ("0.0", 6, 8, 1), ("0.0.0", 6, 9, 1), ("1", 0, 5, 1)],
            segments.Select(s => (s.SourcePath, s.Start, s.End, s.Members.Count)));
        Assert.Equal(22, segments.Sum(s => s.TokenCount));
        Assert.Equal(32, segments.Sum(s => s.TokenCount * s.Members.Count));
        // Mixed signs on the shared root prefix: one term per sign.
        var root = segments[0];
        Assert.Equal(3.0, root.Weight);
        Assert.Equal([(0.75, 2.0), (-1.0, 1.0)], root.Terms.Select(t => (t.Advantage, t.Weight)));
    }

    [Theory]
    [InlineData("soft", false)]
    [InlineData("hard", false)]
    [InlineData("soft", true)]
    [InlineData("hard", true)]
    public void Deduplicate_ClippedLoss_EqualsNonDeduplicatedLossAndGradient(string attribution, bool sequenceMean)
    {
        using var scope = NewDisposeScope();
        var tree = HandTree(sequenceMean ? length => 1.0 / length : null); // no masked tokens: trainable count = length
        var segments = TreeAttributions.Deduplicate(tree, attribution);

        // One logprob per physical token; ratios in [e^−0.6, e^0.6] so that many tokens clip.
        var unique = segments.Sum(s => s.TokenCount);
        var random = new Random(5);
        var oldValues = Enumerable.Range(0, unique).Select(_ => -1.0 - random.NextDouble()).ToArray();
        var newValues = oldValues.Select(v => v + ((random.NextDouble() - 0.5) * 1.2)).ToArray();

        // Map every (trajectory, position) to its physical token.
        var tokenOf = new Dictionary<(string, int), int>();
        var offset = 0;
        foreach (var segment in segments)
        {
            for (var t = segment.Start; t < segment.End; t++)
            {
                foreach (var member in segment.Members)
                {
                    tokenOf[(member, t)] = offset + t - segment.Start;
                }
            }

            offset += segment.TokenCount;
        }

        // Non-deduplicated: every trajectory row in full.
        var advantageRows = TreeAttributions.TokenAdvantages(tree, attribution);
        var copyIndex = new List<long>();
        var copyAdvantage = new List<double>();
        var copyWeight = new List<double>();
        for (var i = 0; i < tree.Length; i++)
        {
            for (var t = 0; t < tree[i].Length; t++)
            {
                copyIndex.Add(tokenOf[(tree[i].Path, t)]);
                copyAdvantage.Add(advantageRows[i][t]);
                copyWeight.Add(tree[i].SequenceWeight);
            }
        }

        var normaliser = sequenceMean ? tree.Length : copyIndex.Count; // seq-mean-token-mean: N_seq; token-mean: N_tok
        var logpFull = tensor(newValues, dtype: ScalarType.Float64, requires_grad: true);   // [unique]
        var (lossFull, gradFull) = WeightedLoss(logpFull, oldValues, copyIndex, copyAdvantage, copyWeight, normaliser);

        // Deduplicated: each physical token once per advantage term.
        var termIndex = new List<long>();
        var termAdvantage = new List<double>();
        var termWeight = new List<double>();
        offset = 0;
        foreach (var segment in segments)
        {
            foreach (var term in segment.Terms)
            {
                for (var t = 0; t < segment.TokenCount; t++)
                {
                    termIndex.Add(offset + t);
                    termAdvantage.Add(term.Advantage);
                    termWeight.Add(term.Weight);
                }
            }

            offset += segment.TokenCount;
        }

        var logpDedup = tensor(newValues, dtype: ScalarType.Float64, requires_grad: true);  // [unique]
        var (lossDedup, gradDedup) = WeightedLoss(logpDedup, oldValues, termIndex, termAdvantage, termWeight, normaliser);

        Assert.True(termIndex.Count < copyIndex.Count);
        Assert.Equal(lossFull, lossDedup, 12);
        Assert.Equal(gradFull, gradDedup, new Tolerance());
    }

    [Fact]
    public void Deduplicate_MixedSignSharedSegment_SoftSplitsBySignHardUsesOneMean()
    {
        // Guards the sign split: the soft root segment mixes +1, −1, +0.5; a single mean term loses the clip asymmetry.
        var root = TreeAttributions.Deduplicate(HandTree(), "soft")[0];
        Assert.Equal(2, root.Terms.Count);
        var hardRoot = TreeAttributions.Deduplicate(HandTree(), "hard")[0];
        Assert.Equal((1.0 / 6.0, 3.0), (hardRoot.Terms.Single().Advantage, hardRoot.Terms.Single().Weight));
    }

    private static (double Loss, double[] Grad) WeightedLoss(
        Tensor logpUnique, double[] oldValues, List<long> index, List<double> advantages, List<double> weights, double normaliser)
    {
        var idx = tensor(index.ToArray(), ScalarType.Int64);                                   // [rows]
        var logp = logpUnique.index_select(0, idx).unsqueeze(0);                              // [1, rows]
        var old = tensor(oldValues, dtype: ScalarType.Float64).index_select(0, idx).unsqueeze(0); // [1, rows]
        var adv = tensor(advantages.ToArray(), dtype: ScalarType.Float64).unsqueeze(0);       // [1, rows]
        var w = tensor(weights.ToArray(), dtype: ScalarType.Float64).unsqueeze(0);            // [1, rows]
        var result = AepoObjective.EntropyBalancedClipLoss(logp, old, adv, ones_like(adv));
        var loss = (result.Loss * w).sum() / normaliser;                                      // []
        loss.backward();
        return (loss.item<double>(), logpUnique.grad!.data<double>().ToArray());
    }

    private sealed class Tolerance : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-10;

        public int GetHashCode(double obj) => 0;
    }
}
