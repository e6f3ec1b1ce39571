using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class LossAggregationTests
{
    // L = [[1, 2, NaN], [4, 5, 6], [7, 8, 9]], m = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]:
    // valid values 1, 2 (row 0) and 4 (row 1); row 2 is fully masked; the NaN sits on a masked token.
    private static Tensor Loss() => Matrix(3, 3, 1, 2, float.NaN, 4, 5, 6, 7, 8, 9);
    private static Tensor Mask() => Matrix(3, 3, 1, 1, 0, 1, 0, 0, 0, 0, 0);

    [Theory]
    [InlineData(LossAggMode.TokenMean, 7.0 / 3)]            // (1 + 2 + 4)/3 tokens = 2.3333333
    [InlineData(LossAggMode.SeqMeanTokenSum, 3.5)]          // row sums 3 and 4; row 2 excluded → (3 + 4)/2
    [InlineData(LossAggMode.SeqMeanTokenMean, 2.75)]        // 3/2 = 1.5 and 4/1 = 4 → (1.5 + 4)/2
    [InlineData(LossAggMode.SeqMeanTokenSumNorm, 7.0 / 3)]  // (1 + 2 + 4)/K, K = mask width 3
    public void Aggregate_LocalCounts_MatchesHandComputation(LossAggMode mode, double expected)
    {
        using var scope = NewDisposeScope();
        Close(expected, LossAggregation.Aggregate(Loss(), Mask(), mode));
    }

    [Theory]
    [InlineData(LossAggMode.TokenMean, 1.0)]                // 7/14 tokens × dp 2
    [InlineData(LossAggMode.SeqMeanTokenSum, 2.0)]          // (3 + 4)/7 sequences × dp 2
    [InlineData(LossAggMode.SeqMeanTokenMean, 11.0 / 7)]    // (1.5 + 4)/7 × 2 = 1.5714286
    [InlineData(LossAggMode.SeqMeanTokenSumNorm, 0.7)]      // 7/K with loss_scale_factor K = 10 (no dp factor)
    public void Aggregate_GlobalNormalisers_UsesThemInsteadOfLocalCounts(LossAggMode mode, double expected)
    {
        using var scope = NewDisposeScope();
        var global = new AggregationNormalizers { TokenCount = 14, SequenceCount = 7, DpSize = 2 };
        Close(expected, LossAggregation.Aggregate(Loss(), Mask(), mode, global, lossScaleFactor: 10));
    }

    [Fact]
    public void FromMask_FullyMaskedSequence_IsNotCounted()
    {
        using var scope = NewDisposeScope();
        var n = AggregationNormalizers.FromMask(Mask());
        Assert.Equal(3.0, n.TokenCount);
        Assert.Equal(2.0, n.SequenceCount);
    }

    [Theory]
    [InlineData(LossAggMode.TokenMean)]
    [InlineData(LossAggMode.SeqMeanTokenSum)]
    [InlineData(LossAggMode.SeqMeanTokenMean)]
    [InlineData(LossAggMode.SeqMeanTokenSumNorm)]
    public void Aggregate_MicroBatchesWithMiniBatchNormalisers_SumToMiniBatchLoss(LossAggMode mode)
    {
        using var scope = NewDisposeScope();
        var loss = Matrix(4, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);   // [4, 3]
        var mask = Matrix(4, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0);     // [4, 3] row 2 fully masked
        var whole = LossAggregation.Aggregate(loss, mask, mode).item<float>();
        var global = AggregationNormalizers.FromMask(mask);
        var first = LossAggregation.Aggregate(loss.narrow(0, 0, 2), mask.narrow(0, 0, 2), mode, global);
        var second = LossAggregation.Aggregate(loss.narrow(0, 2, 2), mask.narrow(0, 2, 2), mode, global);
        // token-mean: (1+2+3+4+10+11)/6 = 31/6; the micro-batches alone would give 10/4 and 21/2.
        Close(whole, (first + second).item<float>());
        if (mode == LossAggMode.TokenMean)
        {
            Close(31.0 / 6, whole);
        }
    }

    [Fact]
    public void Aggregate_Gradient_FlowsOnlyThroughValidTokens()
    {
        using var scope = NewDisposeScope();
        var loss = Leaf(1, 3, 1, 2, 3); // [1, 3]
        var mask = Matrix(1, 3, 1, 1, 0);
        LossAggregation.Aggregate(loss, mask, LossAggMode.TokenMean).backward();
        // d/dL of (L0 + L1)/2 → 0.5, 0.5, 0
        Close([0.5f, 0.5f, 0f], Values(loss.grad!));
    }
}
