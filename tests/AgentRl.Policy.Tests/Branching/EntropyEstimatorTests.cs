using AgentRl.Policy.Branching;

namespace AgentRl.Policy.Tests.Branching;

public sealed class EntropyEstimatorTests
{
    [Fact]
    public void MeanFullVocab_LongerSegment_AveragesFirstKTokensOnly()
    {
        var estimator = new MeanFullVocabEntropy(positions: 3);
        var value = estimator.Estimate(new SegmentEntropyInput(TokenEntropies: [1.0, 2.0, 3.0, 100.0]));
        Assert.Equal(2.0, value, 12);
    }

    [Fact]
    public void MeanFullVocab_ShortSegment_AveragesAvailableTokens()
    {
        var estimator = new MeanFullVocabEntropy(positions: 20);
        Assert.Equal(1.5, estimator.Estimate(new SegmentEntropyInput(TokenEntropies: [1.0, 2.0])), 12);
        Assert.Equal(0.0, estimator.Estimate(new SegmentEntropyInput(TokenEntropies: [])));
    }

    [Fact]
    public void TopKSummedNormalized_TwoPositions_SumsPooledLogprobsOverLnV()
    {
        // Positions 0 and 1 count (k = 2); position 2 is ignored. H = −(0.5 ln 0.5 + 0.25 ln 0.25 + 0.5 ln 0.5) = 1.5 ln 2.
        var estimator = new TopKSummedNormalizedEntropy(vocabularySize: 100, positions: 2);
        var segment = new SegmentEntropyInput(TopLogprobs:
        [
            [Math.Log(0.5), Math.Log(0.25)],
            [Math.Log(0.5)],
            [Math.Log(0.1)],
        ]);
        Assert.Equal(0.22577249674798586, estimator.Estimate(segment), 12);
    }

    [Fact]
    public void TopKSummedNormalized_PerPositionSums_EqualThePooledLogprobs()
    {
        // What rollouts record: per position −Σ e^ℓ·ℓ already summed over the returned logprobs.
        var estimator = new TopKSummedNormalizedEntropy(vocabularySize: 100, positions: 2);
        double Term(double p) => -p * Math.Log(p);
        var segment = new SegmentEntropyInput(TopLogprobEntropies: [Term(0.5) + Term(0.25), Term(0.5), Term(0.1)]);
        Assert.Equal(0.22577249674798586, estimator.Estimate(segment), 12);
    }

    [Fact]
    public void TopKSummedNormalized_MissingLogprobs_Throws()
    {
        var estimator = new TopKSummedNormalizedEntropy(vocabularySize: 100);
        Assert.Throws<ArgumentException>(() => estimator.Estimate(new SegmentEntropyInput(TokenEntropies: [1.0])));
    }

    [Fact]
    public void FromLogits_TwoTokens_MatchesHandEntropy()
    {
        // p = [0.25, 0.75]: H = −(0.25 ln 0.25 + 0.75 ln 0.75).
        Assert.Equal(0.5623351446188083, EntropyEstimators.FromLogits([0f, (float)Math.Log(3.0)]), 6);
        Assert.Equal(Math.Log(4.0), EntropyEstimators.FromLogits([7f, 7f, 7f, 7f]), 9);
    }

    [Fact]
    public void Create_ByName_ReturnsNamedEstimatorOrThrows()
    {
        Assert.IsType<MeanFullVocabEntropy>(EntropyEstimators.Create(new BranchingOptions()));
        var topk = EntropyEstimators.Create(new BranchingOptions { EntropyEstimator = "topk-summed-normalized", VocabularySize = 151_665 });
        Assert.Equal("topk-summed-normalized", topk.Name);
        Assert.Throws<ArgumentException>(() => EntropyEstimators.Create(new BranchingOptions { EntropyEstimator = "topk-summed-normalized" }));
        Assert.Throws<ArgumentException>(() => EntropyEstimators.Create(new BranchingOptions { EntropyEstimator = "nope" }));
    }
}
