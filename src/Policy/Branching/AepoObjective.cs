using static TorchSharp.torch;

namespace AgentRl.Policy.Branching;

/// <summary>A per-token loss matrix and its metrics (masked means over valid tokens).</summary>
/// <param name="Loss">[batch, seq] per-token loss, not masked or aggregated: aggregation (§0.4) multiplies by the mask.</param>
/// <param name="Metrics"><c>loss/pg_clipfrac</c>, <c>loss/ppo_kl</c>, <c>loss/pg_clipfrac_lower</c>, <c>loss/aepo_high_clip_frac</c>.</param>
public sealed record PerTokenLoss(Tensor Loss, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// AEPO's entropy-balanced policy optimisation (§2.2): the stop-gradient high clip and the entropy-aware advantage.
/// Tensors stay in the caller's dispose scope; only the results leave this class's inner scopes.
/// </summary>
public static class AepoObjective
{
    /// <summary>
    /// Entropy-balanced clipping, applied to all tokens (§2.2 c): log r = clamp(logπ_θ − logπ_old, −20, 20),
    /// b_hi = (1 + ε_high)·r/sg(r), ℓ = max(−A·r, −A·clamp(r, 1 − ε_low, b_hi)), then for A &lt; 0 ℓ = min(ℓ, −A·c).
    /// A token with A &gt; 0 and r &gt; 1 + ε_high keeps the gradient −A·(1 + ε_high)·∇logπ_θ instead of 0; forward
    /// values equal vanilla dual-clip PPO (§0.3).
    /// </summary>
    /// <param name="logProbs">[batch, seq] logπ_θ of the taken tokens (requires grad).</param>
    /// <param name="oldLogProbs">[batch, seq] logπ_old.</param>
    /// <param name="advantages">[batch, seq] per-token advantages (no gradient).</param>
    /// <param name="mask">[batch, seq] 1 = trainable token; used for the metrics only.</param>
    /// <param name="clipLow">ε_low: the lower bound is the constant 1 − ε_low; in [0, 1).</param>
    /// <param name="clipHigh">ε_high: the upper bound (1 + ε_high)·r/sg(r), value 1 + ε_high.</param>
    /// <param name="clipC">c of the dual clip for A &lt; 0; must be &gt; 1.</param>
    public static PerTokenLoss EntropyBalancedClipLoss(
        Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clipLow = 0.2, double clipHigh = 0.2, double clipC = 3.0)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        ArgumentNullException.ThrowIfNull(advantages);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfNegative(clipLow);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(clipLow, 1.0);
        ArgumentOutOfRangeException.ThrowIfNegative(clipHigh);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(clipC, 1.0);
        using var scope = NewDisposeScope();
        var logRatio = (logProbs - oldLogProbs).clamp(-20.0, 20.0);                 // [batch, seq]
        var ratio = logRatio.exp();                                                  // [batch, seq]
        var upper = (1.0 + clipHigh) * ratio / ratio.detach();          // [batch, seq], value 1 + ε_high
        var lower = full_like(ratio, 1.0 - clipLow);                    // [batch, seq]
        var clipped = minimum(maximum(ratio, lower), upper);                         // [batch, seq]
        var surrogate = -advantages * ratio;                                         // [batch, seq] ℓ1
        var clippedSurrogate = -advantages * clipped;                                // [batch, seq] ℓ2
        var loss = maximum(surrogate, clippedSurrogate);                             // [batch, seq]
        var dualClip = -advantages * clipC;                             // [batch, seq]
        var negative = advantages.lt(0.0);                                           // [batch, seq] bool
        var lossDual = where(negative, minimum(loss, dualClip), loss);               // [batch, seq]

        var m = mask.to_type(ScalarType.Float64);                                    // [batch, seq]
        var valid = Math.Max(m.sum().item<double>(), 1.0);
        double MaskedMean(Tensor x) => (x.detach().to_type(ScalarType.Float64) * m).sum().item<double>() / valid;
        var metrics = new Dictionary<string, double>
        {
            ["loss/pg_clipfrac"] = MaskedMean(clippedSurrogate.gt(surrogate)),
            ["loss/ppo_kl"] = MaskedMean(-logRatio),
            ["loss/pg_clipfrac_lower"] = MaskedMean(loss.gt(dualClip).logical_and(negative)),
            ["loss/aepo_high_clip_frac"] = MaskedMean(advantages.gt(0.0).logical_and(ratio.detach().gt(1.0 + clipHigh))),
        };

        return new PerTokenLoss(lossDual.MoveToOuterDisposeScope(), metrics);
    }

    /// <summary>
    /// Entropy-aware advantage (§2.2 d): Ĥ = (H − mean)/std over the valid tokens of the micro-batch (unbiased std, as
    /// torch.std; std = 1 when it is 0 or fewer than 2 tokens are valid), A ← A·(1 + α·sg(Ĥ)). Invalid positions keep A.
    /// The caller must compute H whenever this is on (§9 fix: the reference skips it when <c>entropy_coeff = 0</c>).
    /// </summary>
    /// <param name="advantages">[batch, seq] advantages.</param>
    /// <param name="entropy">[batch, seq] full-vocabulary token entropy from the training forward pass.</param>
    /// <param name="mask">[batch, seq] 1 = valid token.</param>
    /// <param name="alpha">α (0.2).</param>
    public static Tensor EntropyAwareAdvantages(Tensor advantages, Tensor entropy, Tensor mask, double alpha = 0.2)
    {
        ArgumentNullException.ThrowIfNull(advantages);
        ArgumentNullException.ThrowIfNull(entropy);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var h = entropy.detach().to_type(ScalarType.Float64);                        // [batch, seq]
        var m = mask.to_type(ScalarType.Float64);                                    // [batch, seq]
        var count = m.sum().item<double>();
        var mean = count > 0 ? (h * m).sum().item<double>() / count : 0.0;
        var variance = count > 1 ? ((h - mean).square() * m).sum().item<double>() / (count - 1) : 0.0;
        var std = Math.Sqrt(variance);
        if (std == 0.0 || !double.IsFinite(std))
        {
            std = 1.0;
        }

        var standardized = (h - mean) / std * m;                                     // [batch, seq], 0 where invalid
        var factor = (1.0 + (alpha * standardized)).to_type(advantages.dtype);       // [batch, seq]
        return (advantages * factor).MoveToOuterDisposeScope();                      // [batch, seq]
    }

    /// <summary>Full-vocabulary token entropy H = −Σ_v p_v log p_v from logits.</summary>
    /// <param name="logits">[batch, seq, vocab] logits at the training temperature.</param>
    /// <returns>[batch, seq].</returns>
    public static Tensor TokenEntropy(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var scope = NewDisposeScope();
        var logp = nn.functional.log_softmax(logits, -1);                            // [batch, seq, vocab]
        return (-(logp.exp() * logp).sum(-1)).MoveToOuterDisposeScope();             // [batch, seq]
    }
}
