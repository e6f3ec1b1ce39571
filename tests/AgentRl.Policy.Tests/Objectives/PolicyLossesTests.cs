using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class PolicyLossesTests
{
    // One row of six tokens, old log-probs 0, so log r = logπ_θ:
    //   token  A    r     ℓ1 = −A·r   ℓ2 = −A·clip(r, 0.8, 1.2)   max     dual clip (A<0: min(·, −A·3))
    //   0      1    1.5   −1.5        −1.2                         −1.2    —             upper clip
    //   1      1    1.1   −1.1        −1.1                         −1.1    —             inside
    //   2     −1    0.5    0.5         0.8                          0.8    min(0.8, 3)   lower clip
    //   3     −1    4      4           1.2                          4      min(4, 3) = 3 dual clip
    //   4     −2    1      2           2                            2      min(2, 6)     inside
    //   5      5    e^100 (masked; log r clamped to 20)
    private static (Tensor LogProb, PolicyLossInput Input) VanillaExample()
    {
        var logProb = Leaf(1, 6, MathF.Log(1.5f), MathF.Log(1.1f), MathF.Log(0.5f), MathF.Log(4f), 0f, 100f); // [1, 6]
        var old = zeros(1, 6);                                                                                 // [1, 6]
        var advantages = Matrix(1, 6, 1, 1, -1, -1, -2, 5);
        var mask = Matrix(1, 6, 1, 1, 1, 1, 1, 0);
        return (logProb, new PolicyLossInput(logProb, old, advantages, mask));
    }

    [Fact]
    public void Vanilla_AllBranches_LossMatrixAndMetricsMatchHandComputation()
    {
        using var scope = NewDisposeScope();
        var (_, input) = VanillaExample();
        var result = PolicyLosses.Vanilla(input, clipLow: 0.2, clipHigh: 0.2, clipC: 3.0);
        Close([-1.2f, -1.1f, 0.8f, 3f, 2f], Values(result.LossMatrix).Take(5).ToArray());
        // token-mean: (−1.2 − 1.1 + 0.8 + 3 + 2)/5 = 3.5/5 = 0.7
        Close(0.7, LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean));
        Close(2.0 / 5, result.Metrics.PgClipFrac);        // tokens 0 and 2: ℓ2 > ℓ1
        Close(1.0 / 5, result.Metrics.PgClipFracLower);   // token 3: max = 4 > −A·c = 3 and A < 0
        // ppo_kl = mean(−log r) = −(ln 1.5 + ln 1.1 + ln 0.5 + ln 4 + 0)/5 = −ln 3.3/5 = −0.2387845
        Close(-0.2387845, result.Metrics.PpoKl);
    }

    [Fact]
    public void Vanilla_Gradient_IsZeroOnClippedAndDualClippedTokens()
    {
        using var scope = NewDisposeScope();
        var (logProb, input) = VanillaExample();
        var result = PolicyLosses.Vanilla(input);
        LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean).backward();
        // Unclipped tokens: dℓ/dlogπ = −A·r; token 1: −1.1/5 = −0.22; token 4: 2·1/5 = 0.4; clipped tokens 0, 2, 3 and
        // masked token 5: 0.
        Close([0f, -0.22f, 0f, 0f, 0.4f, 0f], Values(logProb.grad!));
    }

    [Fact]
    public void Vanilla_HugeLogRatio_IsClampedToTwenty()
    {
        using var scope = NewDisposeScope();
        // log r = 30 − 0 → clamped to 20; A = 0 so the loss is 0; ppo_kl = −20 (not −30).
        var input = new PolicyLossInput(Matrix(1, 1, 30), Matrix(1, 1, 0), Matrix(1, 1, 0), Matrix(1, 1, 1));
        var result = PolicyLosses.Vanilla(input);
        Close(-20, result.Metrics.PpoKl);
        Close([0f], Values(result.LossMatrix));
    }

    [Fact]
    public void Vanilla_DapoClipHigher_LetsRatioRiseTo128Percent()
    {
        using var scope = NewDisposeScope();
        // A = 1, 1, −1; r = 1.25, 1.5, 0.7.
        var input = new PolicyLossInput(
            Matrix(1, 3, MathF.Log(1.25f), MathF.Log(1.5f), MathF.Log(0.7f)), zeros(1, 3), Matrix(1, 3, 1, 1, -1), ones(1, 3));
        var dapo = AlgorithmRegistry.Objective("dapo");
        var higher = PolicyLosses.Compute(dapo.PolicyLoss, input, dapo);
        // ε_high = 0.28: −1.25 (1.25 ≤ 1.28, unclipped), −clip(1.5) = −1.28, lower side max(0.7, 0.8) = 0.8
        Close([-1.25f, -1.28f, 0.8f], Values(higher.LossMatrix));
        Close(2.0 / 3, higher.Metrics.PgClipFrac);
        var symmetric = PolicyLosses.Compute(PolicyLossKind.Vanilla, input, new ObjectiveOptions());
        // ε_high = 0.2: −1.2, −1.2, 0.8; all three clipped.
        Close([-1.2f, -1.2f, 0.8f], Values(symmetric.LossMatrix));
        Close(1.0, symmetric.Metrics.PgClipFrac);
    }

    [Fact]
    public void Vanilla_RolloutWeights_MultiplyTheLoss()
    {
        using var scope = NewDisposeScope();
        // r = 1, A = 1, −2 → ℓ = −1, 2; weights 0.5, 3 → −0.5, 6.
        var input = new PolicyLossInput(zeros(1, 2), zeros(1, 2), Matrix(1, 2, 1, -2), ones(1, 2))
        {
            RolloutWeights = Matrix(1, 2, 0.5f, 3f),
        };
        Close([-0.5f, 6f], Values(PolicyLosses.Vanilla(input).LossMatrix));
    }

    // GSPO example, old log-probs 0:
    //   row 0: log r = 0.2, −0.1, (5.0 masked); A = 1   → log s = (0.2 − 0.1)/2 = 0.05, s = e^0.05 = 1.0512711
    //   row 1: log r = 0.001, −0.0004, 0; A = −0.5   → log s = 0.0006/3 = 0.0002, s = e^0.0002 = 1.0002000
    private static (Tensor LogProb, PolicyLossInput Input) GspoExample()
    {
        var logProb = Leaf(2, 3, 0.2f, -0.1f, 5.0f, 0.001f, -0.0004f, 0f); // [2, 3]
        var advantages = Matrix(2, 3, 1, 1, 1, -0.5f, -0.5f, -0.5f);
        var mask = Matrix(2, 3, 1, 1, 0, 1, 1, 1);
        return (logProb, new PolicyLossInput(logProb, zeros(2, 3), advantages, mask));
    }

    [Fact]
    public void GspoSequenceRatio_TwoSequences_IsGeometricMeanOfTokenRatios()
    {
        using var scope = NewDisposeScope();
        var (logProb, input) = GspoExample();
        Close([1.0512711f, 1.0002000f], Values(PolicyLosses.GspoSequenceRatio(logProb, input.OldLogProb, input.ResponseMask)));
    }

    [Fact]
    public void Gspo_DefaultClip_ClipsSequenceOutsideTinyBandAndAggregatesPerSequence()
    {
        using var scope = NewDisposeScope();
        var (_, input) = GspoExample();
        var result = PolicyLosses.Gspo(input); // ε = 3e-4 / 4e-4 → band [0.9997, 1.0004]
        // row 0: s = 1.0512711 > 1.0004, A = 1 → max(−1.0512711, −1.0004) = −1.0004 on both valid tokens
        // row 1: s = 1.0002 inside → −A·s = 0.5·1.0002 = 0.5001000 on all three tokens
        var values = Values(result.LossMatrix);
        Close([-1.0004f, -1.0004f, 0.5001f, 0.5001f, 0.5001f], [values[0], values[1], values[3], values[4], values[5]]);
        // seq-mean-token-mean: (−1.0004 + 0.5001)/2 = −0.2501500
        Close(-0.25015, LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.SeqMeanTokenMean));
        Close(2.0 / 5, result.Metrics.PgClipFrac);
        // ppo_kl = −(0.2 − 0.1 + 0.001 − 0.0004 + 0)/5 = −0.02012
        Close(-0.02012, result.Metrics.PpoKl);
        Assert.Equal(0, result.Metrics.PgClipFracLower);
    }

    [Fact]
    public void Gspo_Gradient_IsSequenceRatioTimesTokenScoreGradient()
    {
        using var scope = NewDisposeScope();
        var (logProb, input) = GspoExample();
        var result = PolicyLosses.Gspo(input);
        LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.SeqMeanTokenMean).backward();
        // row 1: dℓ/dlogπ_t = −A·s = 0.5·1.0002 = 0.5001, the same for every token whatever its own ratio;
        // ÷ 3 tokens ÷ 2 sequences = 0.0833500. Row 0 is clipped → 0; the masked token → 0.
        Close([0f, 0f, 0f, 0.08335f, 0.08335f, 0.08335f], Values(logProb.grad!));
    }

    [Fact]
    public void Gspo_HugeSequenceLogRatio_IsClampedAtTen()
    {
        using var scope = NewDisposeScope();
        // log s = (14 + 16)/2 = 15 → clamped to 10: s = e^10 = 22026.466; A = −1 → max(22026.466, 1.0004) = 22026.466
        var input = new PolicyLossInput(Matrix(1, 2, 14, 16), zeros(1, 2), Matrix(1, 2, -1, -1), ones(1, 2));
        Close([22026.466f, 22026.466f], Values(PolicyLosses.Gspo(input).LossMatrix), 0.01);
    }

    // Covariance example, rows 0–1 valid, row 2 fully masked with garbage:
    //   A     = 6, −2, 0, −2, −6, 4   → mean 0
    //   logπ  = −1, −3, −2, −1, −3, −2 → mean −2, centred 1, −1, 0, 1, −1, 0
    //   C     = 6, 2, 0, −2, 6, 0
    private static Tensor CovAdvantages() => Matrix(3, 3, 6, -2, 0, -2, -6, 4, 100, 100, 100);
    private static Tensor CovLogProb() => Matrix(3, 3, -1, -3, -2, -1, -3, -2, 50, 50, 50);
    private static Tensor CovMask() => Matrix(3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0);

    [Fact]
    public void Covariance_TinyExample_IsCentredProductOverValidTokens()
    {
        using var scope = NewDisposeScope();
        var c = CovarianceSelection.Covariance(CovLogProb(), CovAdvantages(), CovMask());
        Close([6f, 2f, 0f, -2f, 6f, 0f, 0f, 0f, 0f], Values(c));
    }

    [Fact]
    public void ClipCov_TinyExample_DetachesOnlyTheCandidateInsideBounds()
    {
        using var scope = NewDisposeScope();
        var logProb = CovLogProb();
        var input = new PolicyLossInput(logProb, logProb.clone(), CovAdvantages(), CovMask()); // r = 1
        // Candidates: ω_low = 1 < C < 5 = ω_high → only token 1 (C = 2; the C = 6 tokens are out of bounds).
        // k = max(1, floor(0.5·6)) = 3, but one candidate → token 1 alone is detached.
        var result = PolicyLosses.ClipCov(input, 0.2, 0.2, ratio: 0.5, lowerBound: 1, upperBound: 5, new Random(1));
        // ℓ = −A·1 = −6, (0), 0, 2, 6, −4 → token-mean (−6 + 0 + 0 + 2 + 6 − 4)/6 = −1/3
        Close([-6f, 0f, 0f, 2f, 6f, -4f], Values(result.LossMatrix).Take(6).ToArray());
        Close(-1.0 / 3, LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean));
        Close(1.0 / 6, result.Metrics.PgClipFrac);
    }

    [Fact]
    public void ClipCov_CandidateAlreadyClippedByPpo_IsNotSelected()
    {
        using var scope = NewDisposeScope();
        var logProb = CovLogProb();
        // Token 1: old = logπ − ln 0.5 → r = 0.5, A = −2: ℓ1 = 1, ℓ2 = 2·0.8 = 1.6 > ℓ1 → clipped by PPO → excluded.
        var old = Matrix(3, 3, -1, -3 - MathF.Log(0.5f), -2, -1, -3, -2, 50, 50, 50);
        var selection = CovarianceSelection.ClipCov(logProb, old, CovAdvantages(), CovMask(), 0.2, 0.2, 0.5, 1, 5, new Random(1));
        Assert.Equal(0f, selection.sum().item<float>());
        var result = PolicyLosses.ClipCov(
            new PolicyLossInput(logProb, old, CovAdvantages(), CovMask()), 0.2, 0.2, 0.5, 1, 5, new Random(1));
        Close(1.6f, Values(result.LossMatrix)[1]);
        Assert.Equal(0, result.Metrics.PgClipFrac);
    }

    [Fact]
    public void ClipCov_MoreCandidatesThanK_PicksUniformlyAtRandom()
    {
        using var scope = NewDisposeScope();
        // A = 2, 2, −2, −2; logπ = −1, −3, −1, −3 → C = 2, −2, −2, 2: candidates tokens 0 and 3; k = max(1, floor(0.25·4)) = 1.
        var logProb = Matrix(1, 4, -1, -3, -1, -3);
        var seen = new HashSet<int>();
        for (var seed = 0; seed < 40; seed++)
        {
            var s = Values(CovarianceSelection.ClipCov(
                logProb, logProb, Matrix(1, 4, 2, 2, -2, -2), ones(1, 4), 0.2, 0.2, 0.25, 1, 5, new Random(seed)));
            Assert.Equal(1f, s.Sum());
            Assert.True(s[1] == 0 && s[2] == 0);
            seen.Add(Array.IndexOf(s, 1f));
        }
        Assert.Equal([0, 3], seen.Order());
    }

    [Fact]
    public void KlCov_TinyExample_PenalisesTopCovarianceTokens()
    {
        using var scope = NewDisposeScope();
        var logProb = CovLogProb();
        // log r = 0.1, 0, 0, 0, −0.2, 0 on the valid tokens.
        var old = logProb - Matrix(3, 3, 0.1f, 0, 0, 0, -0.2f, 0, 0, 0, 0);
        var input = new PolicyLossInput(logProb, old, CovAdvantages(), CovMask());
        // k = max(1, floor(6·0.34)) = 2 → the two C = 6 tokens (0 and 4). β = 1.
        var result = PolicyLosses.KlCov(input, ratio: 0.34, ppoKlCoef: 1.0);
        // token 0: −6·e^0.1 + |0.1| = −6.6310255 + 0.1 = −6.5310255
        // token 4: 6·e^−0.2 + |−0.2| = 4.9123845 + 0.2 = 5.1123845
        // others −A·1: 2, 0, 2, −4
        Close([-6.5310255f, 2f, 0f, 2f, 5.1123845f, -4f], Values(result.LossMatrix).Take(6).ToArray());
        Close((0.1 + 0.2) / 6, result.Metrics.PpoKl); // mean |log r| = 0.05
    }

    [Fact]
    public void KlCovSelection_TinyRatio_KeepsAtLeastOneTokenAndBreaksTiesByPosition()
    {
        using var scope = NewDisposeScope();
        // k = max(1, floor(6·2e-4)) = 1; tokens 0 and 4 tie at C = 6 → token 0.
        var s = CovarianceSelection.KlCov(CovLogProb(), CovAdvantages(), CovMask(), 2e-4);
        Close([1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f], Values(s));
    }

    [Fact]
    public void KlCov_GivenGlobalSelection_UsesItInsteadOfLocalTopK()
    {
        using var scope = NewDisposeScope();
        var logProb = CovLogProb();
        var old = logProb - Matrix(3, 3, 0.1f, 0, 0, 0, -0.2f, 0, 0, 0, 0);
        var input = new PolicyLossInput(logProb, old, CovAdvantages(), CovMask())
        {
            CovSelection = Matrix(3, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0),
        };
        var values = Values(PolicyLosses.KlCov(input, ratio: 0.34, ppoKlCoef: 1.0).LossMatrix);
        Close(-6.5310255f, values[0]);
        Close(4.9123845f, values[4]); // 6·e^−0.2, no penalty: not in the given selection
    }
}
