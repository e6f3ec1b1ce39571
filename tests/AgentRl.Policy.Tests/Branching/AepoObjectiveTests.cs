using AgentRl.Policy.Branching;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Branching;

public sealed class AepoObjectiveTests
{
    // Tokens (A, r): high-clipped positive, in range, negative above the range, negative below it, negative past the dual
    // clip c = 3, positive below the range.
    private static readonly double[] Advantages = [1.0, 1.0, -1.0, -1.0, -1.0, 2.0];
    private static readonly double[] Ratios = [1.5, 1.0, 1.5, 0.5, 4.0, 0.5];

    [Fact]
    public void EntropyBalancedClipLoss_HandTokens_ValuesMatchDualClipPpo()
    {
        using var scope = NewDisposeScope();
        var (result, _) = Run();
        // ℓ = max(−A r, −A clip(r, 0.8, 1.2)), then min(ℓ, −A·3) for A < 0.
        double[] expected = [-1.2, -1.0, 1.5, 0.8, 3.0, -1.0];
        Assert.Equal(expected, result.Loss.data<double>().ToArray(), new Tolerance());
    }

    [Fact]
    public void EntropyBalancedClipLoss_ClippedHighEntropyToken_KeepsRescaledGradient()
    {
        using var scope = NewDisposeScope();
        var (result, logProbs) = Run();
        result.Loss.sum().backward();
        // dℓ/dlogπ: clipped A>0 token −A(1+ε_high) (0 in vanilla PPO); unclipped −A·r; clipped A<0 tokens 0.
        double[] expected = [-1.2, -1.0, 1.5, 0.0, 0.0, -1.0];
        Assert.Equal(expected, logProbs.grad!.data<double>().ToArray(), new Tolerance());
    }

    [Fact]
    public void EntropyBalancedClipLoss_Metrics_MatchHandCounts()
    {
        using var scope = NewDisposeScope();
        var (result, _) = Run();
        Assert.Equal(2.0 / 6.0, result.Metrics["loss/pg_clipfrac"], 12);
        Assert.Equal(1.0 / 6.0, result.Metrics["loss/pg_clipfrac_lower"], 12);
        Assert.Equal(1.0 / 6.0, result.Metrics["loss/aepo_high_clip_frac"], 12);
        Assert.Equal(-Ratios.Sum(r => Math.Log(r)) / 6.0, result.Metrics["loss/ppo_kl"], 12);
    }

    [Fact]
    public void EntropyAwareAdvantages_MaskedTokens_StandardiseOverValidTokensOnly()
    {
        using var scope = NewDisposeScope();
        var advantages = tensor(new double[] { 1, 1, -1, 5 }, [1, 4]);                     // [1, 4]
        var entropy = tensor(new double[] { 1, 2, 3, 100 }, [1, 4], requires_grad: true);  // [1, 4]
        var mask = tensor(new double[] { 1, 1, 1, 0 }, [1, 4]);                            // [1, 4]
        // mean 2, unbiased std 1: Ĥ = [−1, 0, 1]; A·(1 + 0.2·Ĥ).
        var result = AepoObjective.EntropyAwareAdvantages(advantages, entropy, mask, alpha: 0.2);
        Assert.Equal(new double[] { 0.8, 1.0, -1.2, 5.0 }, result.data<double>().ToArray(), new Tolerance());
        Assert.False(result.requires_grad);
    }

    [Fact]
    public void EntropyAwareAdvantages_ConstantEntropy_LeavesAdvantagesUnchanged()
    {
        using var scope = NewDisposeScope();
        var advantages = tensor(new double[] { 0.3, -0.7 }, [1, 2]);   // [1, 2]
        var entropy = full(1, 2, 2.5, ScalarType.Float64);              // [1, 2]
        var result = AepoObjective.EntropyAwareAdvantages(advantages, entropy, ones_like(entropy));
        Assert.Equal(new double[] { 0.3, -0.7 }, result.data<double>().ToArray(), new Tolerance());
    }

    [Fact]
    public void TokenEntropy_UniformLogits_IsLogVocab()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(2, 3, 8, ScalarType.Float64);                // [2, 3, 8]
        var h = AepoObjective.TokenEntropy(logits);                     // [2, 3]
        Assert.Equal([2L, 3L], h.shape);
        Assert.All(h.data<double>().ToArray(), v => Assert.Equal(Math.Log(8), v, 10));
    }

    private static (PerTokenLoss Result, Tensor LogProbs) Run()
    {
        var old = tensor(new double[] { -1, -2, -1.5, -0.5, -3, -1 }, [1, 6]);                        // [1, 6]
        var logProbs = (old + tensor(Ratios.Select(r => Math.Log(r)).ToArray(), [1, 6])).detach().requires_grad_(); // [1, 6]
        var advantages = tensor(Advantages, [1, 6]);                                                  // [1, 6]
        var result = AepoObjective.EntropyBalancedClipLoss(logProbs, old, advantages, ones_like(advantages));
        return (result, logProbs);
    }

    private sealed class Tolerance : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

        public int GetHashCode(double obj) => 0;
    }
}
