using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>Per-token KL to the reference policy (verl <c>kl_penalty</c>, docs/ALGORITHMS.md §0.5).</summary>
public static class KlPenalties
{
    /// <summary>k3 clamps d = logπ_ref − logπ_θ to ±20 before the exponential.</summary>
    public const double K3LogRatioClamp = 20.0;

    /// <summary>k3's result is clamped to ±10.</summary>
    public const double K3ValueClamp = 10.0;

    /// <summary>
    /// The chosen estimator, [batch, seq] → [batch, seq]. The <c>…Plus</c> kinds are straight-through:
    /// value = base estimator, gradient = k2's, computed as k2 − sg(k2) + sg(base).
    /// </summary>
    public static Tensor Compute(KlEstimator estimator, Tensor logProb, Tensor refLogProb) => estimator switch
    {
        KlEstimator.K1 => K1(logProb, refLogProb),
        KlEstimator.Abs => Abs(logProb, refLogProb),
        KlEstimator.K2 => K2(logProb, refLogProb),
        KlEstimator.K3 => K3(logProb, refLogProb),
        KlEstimator.K1Plus => StraightThrough(K1(logProb, refLogProb), logProb, refLogProb),
        KlEstimator.AbsPlus => StraightThrough(Abs(logProb, refLogProb), logProb, refLogProb),
        KlEstimator.K3Plus => StraightThrough(K3(logProb, refLogProb), logProb, refLogProb),
        _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, null),
    };

    /// <summary>k1: logπ_θ − logπ_ref.</summary>
    public static Tensor K1(Tensor logProb, Tensor refLogProb) => logProb - refLogProb; // [batch, seq]

    /// <summary>abs: |logπ_θ − logπ_ref|.</summary>
    public static Tensor Abs(Tensor logProb, Tensor refLogProb) => (logProb - refLogProb).abs(); // [batch, seq]

    /// <summary>k2 (mse): ½(logπ_θ − logπ_ref)².</summary>
    public static Tensor K2(Tensor logProb, Tensor refLogProb) => (logProb - refLogProb).square() * 0.5; // [batch, seq]

    /// <summary>k3 (low_var_kl): d = clamp(logπ_ref − logπ_θ, ±20); clamp(e^d − d − 1, ±10).</summary>
    public static Tensor K3(Tensor logProb, Tensor refLogProb)
    {
        var d = (refLogProb - logProb).clamp(-K3LogRatioClamp, K3LogRatioClamp); // [batch, seq]
        return (d.exp() - d - 1).clamp(-K3ValueClamp, K3ValueClamp);            // [batch, seq]
    }

    private static Tensor StraightThrough(Tensor forward, Tensor logProb, Tensor refLogProb)
    {
        var k2 = K2(logProb, refLogProb);                   // [batch, seq]
        return k2 - k2.detach() + forward.detach();         // [batch, seq]
    }
}

/// <summary>Token entropy from logits (verl <c>entropy_from_logits</c>).</summary>
public static class TokenEntropy
{
    /// <summary>H = logsumexp(z) − Σ_v softmax(z)_v·z_v, [batch, seq, vocab] → [batch, seq]. Differentiable.</summary>
    public static Tensor FromLogits(Tensor logits)
    {
        var probs = logits.softmax(-1);                          // [batch, seq, vocab]
        return logits.logsumexp(-1) - (probs * logits).sum(-1);  // [batch, seq]
    }
}
