using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class PolicyObjectiveTests
{
    // One row, tokens 0–1 valid, token 2 masked with garbage; logπ_θ = logπ_old → r = 1.
    //   A = 2, 1 → ℓ = −2, −1 → pg (token-mean) = −1.5
    //   k1 = logπ_θ − logπ_ref = 0.2, 0.4 → agg 0.3, × kl_coef 0.5 = 0.15
    //   H = 1, 3 → agg 2, × entropy_coeff 0.01 = 0.02
    //   total = −1.5 + 0.15 − 0.02 = −1.37
    private static ObjectiveInput Input() => new(
        Matrix(1, 3, -1, -1, 9), Matrix(1, 3, -1, -1, -9), Matrix(1, 3, 2, 1, 100), Matrix(1, 3, 1, 1, 0))
    {
        RefLogProb = Matrix(1, 3, -1.2f, -1.4f, 50),
        Entropy = Matrix(1, 3, 1, 3, 77),
    };

    [Fact]
    public void Compute_PgKlEntropy_ComposesTotalWithSameAggregation()
    {
        using var scope = NewDisposeScope();
        var options = new ObjectiveOptions { UseKlLoss = true, KlLossType = KlEstimator.K1, KlLossCoef = 0.5, EntropyCoeff = 0.01 };
        var result = PolicyObjective.Compute(options, Input());
        Close(-1.5, result.PolicyLoss);
        Close(0.3, result.KlLoss!);
        Close(2.0, result.EntropyLoss!);
        Close(-1.37, result.Loss);
        Close(-1.37, result.Metrics["loss/total"]);
        Close(0.3, result.Metrics["loss/kl"]);
        Assert.Equal(0, result.Metrics["loss/pg_clipfrac"]);
    }

    [Fact]
    public void Compute_SeqMeanTokenSum_AppliesModeToEveryTerm()
    {
        using var scope = NewDisposeScope();
        // One sequence: pg = −2 − 1 = −3; kl = 0.2 + 0.4 = 0.6 → ×0.5 = 0.3; H = 4 → ×0.01 = 0.04; total = −3 + 0.3 − 0.04 = −2.74
        var options = new ObjectiveOptions
        {
            UseKlLoss = true,
            KlLossType = KlEstimator.K1,
            KlLossCoef = 0.5,
            EntropyCoeff = 0.01,
            LossAggMode = LossAggMode.SeqMeanTokenSum,
        };
        Close(-2.74, PolicyObjective.Compute(options, Input()).Loss);
    }

    [Fact]
    public void Compute_KlOnWithoutReference_Throws()
    {
        using var scope = NewDisposeScope();
        var input = Input() with { RefLogProb = null };
        Assert.Throws<ArgumentException>(() => PolicyObjective.Compute(new ObjectiveOptions { UseKlLoss = true }, input));
        var noEntropy = Input() with { Entropy = null };
        Assert.Throws<ArgumentException>(() => PolicyObjective.Compute(new ObjectiveOptions { EntropyCoeff = 0.1 }, noEntropy));
    }

    [Fact]
    public void Compute_Backward_GivesPolicyPlusKlPlusEntropyGradient()
    {
        using var scope = NewDisposeScope();
        var logProb = Leaf(1, 2, -1, -1);
        var entropy = Leaf(1, 2, 1, 3);
        var input = new ObjectiveInput(logProb, Matrix(1, 2, -1, -1), Matrix(1, 2, 2, 1), ones(1, 2))
        {
            RefLogProb = Matrix(1, 2, -1.2f, -1.4f),
            Entropy = entropy,
        };
        var options = new ObjectiveOptions { UseKlLoss = true, KlLossType = KlEstimator.K1, KlLossCoef = 0.5, EntropyCoeff = 0.01 };
        PolicyObjective.Compute(options, input).Loss.backward();
        // ∂/∂logπ_t: −A_t·r/2 + 0.5·1/2 → −2/2 + 0.25 = −0.75, −1/2 + 0.25 = −0.25; ∂/∂H_t = −0.01/2 = −0.005
        Close([-0.75f, -0.25f], Values(logProb.grad!));
        Close([-0.005f, -0.005f], Values(entropy.grad!));
    }
}
