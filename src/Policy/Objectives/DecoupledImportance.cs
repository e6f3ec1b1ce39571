using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>
/// Rejection sampling of decoupled PPO's behaviour weight (docs/ALGORITHMS.md §5.2, AReaL <c>RejectionSamplingConfig</c>,
/// metric <c>ratio</c>): w outside [<paramref name="Lower"/>, <paramref name="Upper"/>] is masked or clamped.
/// </summary>
/// <param name="Level">Token, sequence (geometric mean) or none (w = 1).</param>
/// <param name="Action">Mask (w = 0) or clamp (w truncated to the bounds).</param>
/// <param name="Upper">Upper bound of w (&gt; 1).</param>
/// <param name="Lower">Lower bound of w, or null for none (clamp then truncates at 0).</param>
public sealed record RejectionSampling(
    RejectionLevel Level = RejectionLevel.Token,
    RejectionAction Action = RejectionAction.Mask,
    double Upper = 5.0,
    double? Lower = null)
{
    /// <summary>The rejection sampling an objective configures.</summary>
    public static RejectionSampling From(ObjectiveOptions options) =>
        new(options.RejectionLevel, options.RejectionAction, options.RejectionUpper, options.RejectionLower);
}

/// <summary>The behaviour weights after rejection sampling; both [batch, seq], no gradient.</summary>
/// <param name="Weights">w to multiply the token loss with (0 where masked and on mask-0 positions).</param>
/// <param name="Rejected">True on valid tokens whose w (or whose sequence's w) was outside the bounds, i.e. masked or clamped.</param>
public sealed record BehaviourWeights(Tensor Weights, Tensor Rejected);

/// <summary>
/// The two pieces of decoupled PPO around its surrogate (docs/ALGORITHMS.md §5.2): the behaviour weight
/// w = π_prox/π_behav with rejection sampling, and the log-linear approximation of logπ_prox from per-token versions.
/// </summary>
public static class DecoupledImportance
{
    /// <summary>log w = logπ_prox − logπ_behav is clamped to ±20 before the exponential.</summary>
    public const double LogWeightClamp = 20.0;

    /// <summary>
    /// w after rejection sampling, [batch, seq] → [batch, seq] (no gradient). Token level: w_t = exp(logπ_prox − logπ_behav).
    /// Sequence level: every token of row b gets the geometric mean W_b = exp(Σ_t m·log w_t / max(Σ_t m, 1)). A w (W_b)
    /// above <see cref="RejectionSampling.Upper"/> or below <see cref="RejectionSampling.Lower"/> is set to 0 (mask) or
    /// clamped to [lower or 0, upper] (clamp). Level none: w = 1, nothing rejected.
    /// </summary>
    public static BehaviourWeights Weights(Tensor proxLogProb, Tensor behaviourLogProb, Tensor mask, RejectionSampling rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        using var noGrad = no_grad();
        var valid = mask.gt(0);                                                                     // [batch, seq]
        var zeros = zeros_like(proxLogProb);                                                        // [batch, seq]
        if (rejection.Level == RejectionLevel.None)
        {
            return new BehaviourWeights(where(valid, ones_like(proxLogProb), zeros), zeros_like(valid));
        }

        var logWeight = where(valid, (proxLogProb.detach() - behaviourLogProb).clamp(-LogWeightClamp, LogWeightClamp), zeros); // [batch, seq]
        var weights = rejection.Level == RejectionLevel.Sequence
            ? (logWeight.sum(1, keepdim: true) / valid.to_type(logWeight.dtype).sum(1, keepdim: true).clamp_min(1)).exp().expand_as(logWeight) // [batch, seq]
            : logWeight.exp();                                                                      // [batch, seq]
        var outside = weights.gt(rejection.Upper);                                                  // [batch, seq]
        if (rejection.Lower is { } lower)
        {
            outside = outside.logical_or(weights.lt(lower));                                        // [batch, seq]
        }

        var kept = rejection.Action == RejectionAction.Mask
            ? where(outside, zeros, weights)                                                        // [batch, seq]
            : weights.clamp(rejection.Lower ?? 0.0, rejection.Upper);                               // [batch, seq]
        return new BehaviourWeights(where(valid, kept, zeros), outside.logical_and(valid));
    }

    /// <summary>
    /// The interpolation weight of the log-linear approximation per token: α_t = (v_prox − v_t)/(v_θ − v_t) with
    /// v_θ = v_prox + 1 and v_t the version that generated token t; α_t = 0 where v_t ≥ v_prox (fresh) or v_t &lt; 0 (not
    /// generated). α ∈ [0, 1): 1/2 for one version behind, 2/3 for two.
    /// </summary>
    /// <param name="versions">Per-token policy versions (−1 where not generated).</param>
    /// <param name="proxVersion">v_prox: the trainer's version before the update.</param>
    public static float[] LoglinearAlpha(ReadOnlySpan<long> versions, long proxVersion)
    {
        var alpha = new float[versions.Length];
        for (var t = 0; t < versions.Length; t++)
        {
            var behaviour = versions[t];
            alpha[t] = behaviour < 0 || behaviour >= proxVersion ? 0f : (float)((proxVersion - behaviour) / (double)(proxVersion + 1 - behaviour));
        }

        return alpha;
    }

    /// <summary>
    /// log π_prox ≈ log π_behav + α·(sg(log π_θ) − log π_behav) (AReaL <c>prox_logp_method: loglinear</c>), [batch, seq];
    /// no gradient flows through π_prox.
    /// </summary>
    public static Tensor LoglinearProxLogProb(Tensor logProb, Tensor behaviourLogProb, Tensor alpha) =>
        behaviourLogProb + (alpha * (logProb.detach() - behaviourLogProb));                       // [batch, seq]
}
