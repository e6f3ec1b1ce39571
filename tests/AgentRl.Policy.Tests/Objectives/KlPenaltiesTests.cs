using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class KlPenaltiesTests
{
    // logπ_θ = −1, −2; logπ_ref = −1.5, −1 → logπ_θ − logπ_ref = 0.5, −1; d = logπ_ref − logπ_θ = −0.5, 1.
    private static Tensor LogProb() => Leaf(1, 2, -1f, -2f);
    private static Tensor RefLogProb() => Matrix(1, 2, -1.5f, -1f);

    [Theory]
    [InlineData(KlEstimator.K1, 0.5f, -1f)]                 // logπ_θ − logπ_ref
    [InlineData(KlEstimator.Abs, 0.5f, 1f)]                 // |·|
    [InlineData(KlEstimator.K2, 0.125f, 0.5f)]              // ½·0.25, ½·1
    [InlineData(KlEstimator.K3, 0.1065307f, 0.7182818f)]    // e^−0.5 + 0.5 − 1 = 0.6065307 − 0.5; e^1 − 1 − 1
    [InlineData(KlEstimator.K3Plus, 0.1065307f, 0.7182818f)] // forward value of k3
    [InlineData(KlEstimator.K1Plus, 0.5f, -1f)]             // forward value of k1
    [InlineData(KlEstimator.AbsPlus, 0.5f, 1f)]             // forward value of abs
    public void Compute_TwoTokens_ValueMatchesFormula(KlEstimator estimator, float first, float second)
    {
        using var scope = NewDisposeScope();
        Close([first, second], Values(KlPenalties.Compute(estimator, LogProb(), RefLogProb())));
    }

    [Fact]
    public void K3_ExtremeLogRatios_AreClampedAtTwentyThenTen()
    {
        using var scope = NewDisposeScope();
        // d = −30 → −20: e^−20 + 20 − 1 ≈ 19 → 10. d = +30 → 20: e^20 − 21 ≈ 4.85e8 → 10. d = 0 → 0.
        var k3 = KlPenalties.K3(Matrix(1, 3, 0, -30, 0), Matrix(1, 3, -30, 0, 0));
        Close([10f, 10f, 0f], Values(k3));
    }

    [Fact]
    public void K3Plus_Gradient_EqualsK2Gradient()
    {
        using var scope = NewDisposeScope();
        var logProb = LogProb();
        KlPenalties.Compute(KlEstimator.K3Plus, logProb, RefLogProb()).sum().backward();
        // ∂k2/∂logπ_θ = logπ_θ − logπ_ref = 0.5, −1
        Close([0.5f, -1f], Values(logProb.grad!));

        var k2Leaf = LogProb();
        KlPenalties.K2(k2Leaf, RefLogProb()).sum().backward();
        Close(Values(k2Leaf.grad!), Values(logProb.grad!));

        // The plain k3 gradient differs: ∂/∂logπ_θ (e^d − d − 1) = 1 − e^d = 1 − e^−0.5 = 0.3934693, 1 − e = −1.7182818
        var k3Leaf = LogProb();
        KlPenalties.Compute(KlEstimator.K3, k3Leaf, RefLogProb()).sum().backward();
        Close([0.3934693f, -1.7182818f], Values(k3Leaf.grad!));
    }

    [Theory]
    [InlineData("kl", KlEstimator.K1)]
    [InlineData("low_var_kl", KlEstimator.K3)]
    [InlineData("low_var_kl+", KlEstimator.K3Plus)]
    [InlineData("mse", KlEstimator.K2)]
    [InlineData("k2+", KlEstimator.K2)]
    public void ParseKlEstimator_VerlNames_MapToEstimator(string name, KlEstimator expected) =>
        Assert.Equal(expected, ObjectiveNames.ParseKlEstimator(name));

    [Fact]
    public void TokenEntropy_TwoDistributions_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // [1, 1] → uniform over 2: ln 2 = 0.6931472.
        // [0, ln 3] → p = 1/4, 3/4: −(¼ ln ¼ + ¾ ln ¾) = 0.3465736 + 0.2157616 = 0.5623351
        var logits = tensor(new float[] { 1, 1, 0, MathF.Log(3) }, [1, 2, 2]); // [batch 1, seq 2, vocab 2]
        Close([0.6931472f, 0.5623351f], Values(TokenEntropy.FromLogits(logits)));
    }
}
