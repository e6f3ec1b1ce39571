using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>Inputs of a per-token policy loss; every tensor is [batch, seq].</summary>
/// <param name="LogProb">logπ_θ of the sampled tokens, with gradient.</param>
/// <param name="OldLogProb">logπ_old recorded at rollout (no gradient).</param>
/// <param name="Advantages">Per-token advantages (no gradient).</param>
/// <param name="ResponseMask">1 where the token is trainable.</param>
public sealed record PolicyLossInput(Tensor LogProb, Tensor OldLogProb, Tensor Advantages, Tensor ResponseMask)
{
    /// <summary>Optional per-token rollout-correction weight w, applied as ℓ·w (docs/ALGORITHMS.md §0.3).</summary>
    public Tensor? RolloutWeights { get; init; }

    /// <summary>
    /// Optional precomputed Clip-Cov / KL-Cov token selection (1 = selected), from <see cref="CovarianceSelection"/> on
    /// the whole mini-batch and sliced to this micro-batch: that makes the top-k global. Null: select within this batch.
    /// </summary>
    public Tensor? CovSelection { get; init; }

    /// <summary>
    /// logπ_prox of the proximal policy (the weights before this update), no gradient; required by
    /// <see cref="PolicyLossKind.DecoupledPpo"/>, where <see cref="OldLogProb"/> is the behaviour policy's. The other losses
    /// ignore it.
    /// </summary>
    public Tensor? ProxLogProb { get; init; }
}

/// <summary>Metrics of a policy loss, masked means over the batch given (verl names).</summary>
/// <param name="PgClipFrac">pg_clipfrac: fraction of tokens where the clipped term won (Clip-Cov: fraction detached).</param>
/// <param name="PpoKl">ppo_kl: mean of −log r (KL-Cov: mean of |log r|).</param>
/// <param name="PgClipFracLower">pg_clipfrac_lower: fraction of tokens cut by the dual clip.</param>
public readonly record struct PolicyLossMetrics(double PgClipFrac, double PpoKl, double PgClipFracLower)
{
    /// <summary>Decoupled PPO: loss/rejected_frac, fraction of tokens whose w rejection sampling masked or clamped; else null.</summary>
    public double? RejectedFrac { get; init; }

    /// <summary>Decoupled PPO: loss/behav_weight_mean, mean of the applied w = π_prox/π_behav; else null.</summary>
    public double? BehaviourWeightMean { get; init; }
}

/// <summary>The per-token loss matrix, before aggregation, and its metrics.</summary>
/// <param name="LossMatrix">[batch, seq] per-token loss (values at masked positions are meaningless).</param>
/// <param name="Metrics">Masked-mean metrics of this batch.</param>
public sealed record PolicyLossResult(Tensor LossMatrix, PolicyLossMetrics Metrics);

/// <summary>Per-token policy losses (verl <c>compute_policy_loss_*</c>), chosen by <see cref="PolicyLossKind"/>.</summary>
public static class PolicyLosses
{
    /// <summary>log r is clamped to ±20 before the exponential in the vanilla loss.</summary>
    public const double LogRatioClamp = 20.0;

    /// <summary>GSPO clamps its token log-ratio at ≤ 10.</summary>
    public const double GspoLogRatioMax = 10.0;

    /// <summary>The loss chosen by <see cref="ObjectiveOptions.PolicyLoss"/> with that record's parameters.</summary>
    public static PolicyLossResult Compute(PolicyLossKind kind, PolicyLossInput input, ObjectiveOptions options, Random? random = null) =>
        kind switch
        {
            PolicyLossKind.Vanilla => Vanilla(input, options.ClipRatioLow, options.ClipRatioHigh, options.ClipRatioC),
            PolicyLossKind.Gspo => Gspo(input, options.ClipRatioLow, options.ClipRatioHigh),
            PolicyLossKind.ClipCov => ClipCov(
                input, options.ClipRatioLow, options.ClipRatioHigh, options.ClipCovRatio,
                options.ClipCovLowerBound, options.ClipCovUpperBound, random ?? Random.Shared),
            PolicyLossKind.KlCov => KlCov(input, options.KlCovRatio, options.PpoKlCoef),
            PolicyLossKind.EntropyBalanced => EntropyBalanced(input, options.ClipRatioLow, options.ClipRatioHigh, options.ClipRatioC),
            PolicyLossKind.DecoupledPpo => DecoupledPpo(
                input, options.ClipRatioLow, options.ClipRatioHigh, options.ClipRatioC, RejectionSampling.From(options)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

    /// <summary>
    /// AEPO's entropy-balanced clipping (docs/ALGORITHMS.md §2.2 c, <see cref="Branching.AepoObjective.EntropyBalancedClipLoss"/>):
    /// vanilla dual-clip PPO in value, but the upper bound (1 + ε_high)·r/sg(r) keeps the gradient of clipped tokens with A &gt; 0.
    /// </summary>
    public static PolicyLossResult EntropyBalanced(PolicyLossInput input, double clipLow = 0.2, double clipHigh = 0.2, double clipC = 3.0)
    {
        var loss = Branching.AepoObjective.EntropyBalancedClipLoss(input.LogProb, input.OldLogProb, input.Advantages, input.ResponseMask, clipLow, clipHigh, clipC);
        var metrics = new PolicyLossMetrics(loss.Metrics["loss/pg_clipfrac"], loss.Metrics["loss/ppo_kl"], loss.Metrics["loss/pg_clipfrac_lower"]);
        return new PolicyLossResult(Weighted(loss.Loss, input.RolloutWeights), metrics);
    }

    /// <summary>
    /// PPO clip with dual clip (docs/ALGORITHMS.md §0.3): log r = clamp(logπ_θ − logπ_old, ±20); ℓ1 = −A·r,
    /// ℓ2 = −A·clip(r, 1−ε_low, 1+ε_high), ℓ = max(ℓ1, ℓ2); for A &lt; 0, ℓ = min(ℓ, −A·c). DAPO's clip-higher is this
    /// loss with ε_high = 0.28.
    /// </summary>
    public static PolicyLossResult Vanilla(PolicyLossInput input, double clipLow = 0.2, double clipHigh = 0.2, double clipC = 3.0)
    {
        if (!(clipC > 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(clipC), clipC, "clip_ratio_c must be > 1.");
        }
        var (logProb, oldLogProb, advantages, mask) = input;
        var logRatio = (logProb - oldLogProb).clamp(-LogRatioClamp, LogRatioClamp); // [batch, seq]
        var ratio = logRatio.exp();                                                 // [batch, seq]
        var loss1 = -advantages * ratio;                                            // [batch, seq]
        var loss2 = -advantages * ratio.clamp(1 - clipLow, 1 + clipHigh);           // [batch, seq]
        var clipped = maximum(loss1, loss2);                                        // [batch, seq]
        var loss3 = -advantages * clipC;                                            // [batch, seq]
        var negative = advantages.lt(0);                                            // [batch, seq]
        var loss = where(negative, minimum(clipped, loss3), clipped);               // [batch, seq]
        var metrics = new PolicyLossMetrics(
            PgClipFrac: MaskedMean(loss2.gt(loss1), mask),
            PpoKl: MaskedMean(-logRatio, mask),
            PgClipFracLower: MaskedMean(clipped.gt(loss3).logical_and(negative), mask));
        return new PolicyLossResult(Weighted(loss, input.RolloutWeights), metrics);
    }

    /// <summary>
    /// AReaL's decoupled PPO (docs/ALGORITHMS.md §5.2), with π_behav = <see cref="PolicyLossInput.OldLogProb"/> and π_prox =
    /// <see cref="PolicyLossInput.ProxLogProb"/>: u = exp(clamp(logπ_θ − logπ_prox, ±20)); ℓ = max(−A·u, −A·clip(u, 1−ε_low,
    /// 1+ε_high)); for A &lt; 0, ℓ = min(ℓ, −A·c) (<see cref="Vanilla"/> on u); then ℓ ← ℓ·w with w = π_prox/π_behav after
    /// rejection sampling (<see cref="DecoupledImportance.Weights"/>, no gradient), and ℓ·RolloutWeights when given. The
    /// clip acts on u, not on π_θ/π_behav; a masked token keeps its place in the aggregation denominator.
    /// </summary>
    public static PolicyLossResult DecoupledPpo(
        PolicyLossInput input,
        double clipLow = 0.2,
        double clipHigh = 0.2,
        double clipC = 3.0,
        RejectionSampling? rejection = null)
    {
        var prox = input.ProxLogProb
            ?? throw new ArgumentException("decoupled-ppo needs the proximal log-probs (PolicyLossInput.ProxLogProb).", nameof(input));
        var mask = input.ResponseMask;
        var surrogate = Vanilla(input with { OldLogProb = prox, RolloutWeights = null }, clipLow, clipHigh, clipC);
        var behaviour = DecoupledImportance.Weights(prox, input.OldLogProb, mask, rejection ?? new RejectionSampling());
        var loss = surrogate.LossMatrix * behaviour.Weights;                        // [batch, seq]
        var metrics = surrogate.Metrics with
        {
            RejectedFrac = MaskedMean(behaviour.Rejected, mask),
            BehaviourWeightMean = MaskedMean(behaviour.Weights, mask),
        };
        return new PolicyLossResult(Weighted(loss, input.RolloutWeights), metrics);
    }

    /// <summary>
    /// GSPO (docs/ALGORITHMS.md §3.3): log s_i = Σ_t m·(logπ_θ − logπ_old) / max(|y_i|, 1); token surrogate
    /// s_{i,t} = exp(min(sg[log s_i] + logπ_θ,t − sg[logπ_θ,t], 10)) (value s_i, gradient s_i·∇logπ_θ,t);
    /// ℓ = max(−A·s_{i,t}, −A·clip(s_{i,t}, 1−ε_low, 1+ε_high)); no dual clip. Aggregate with seq-mean-token-mean.
    /// </summary>
    public static PolicyLossResult Gspo(PolicyLossInput input, double clipLow = 3e-4, double clipHigh = 4e-4)
    {
        var (logProb, oldLogProb, advantages, mask) = input;
        var valid = mask.gt(0);                                                          // [batch, seq]
        var logRatio = where(valid, logProb - oldLogProb, zeros_like(logProb));          // [batch, seq]
        var lengths = valid.to_type(logProb.dtype).sum(1).clamp_min(1);                  // [batch]
        var sequenceLogRatio = logRatio.sum(1) / lengths;                                // [batch]
        var tokenLogRatio = (logProb - logProb.detach()
            + sequenceLogRatio.detach().unsqueeze(-1)).clamp_max(GspoLogRatioMax);        // [batch, seq]
        var ratio = tokenLogRatio.exp();                                                 // [batch, seq]
        var loss1 = -advantages * ratio;                                                 // [batch, seq]
        var loss2 = -advantages * ratio.clamp(1 - clipLow, 1 + clipHigh);                // [batch, seq]
        var loss = maximum(loss1, loss2);                                                // [batch, seq]
        var metrics = new PolicyLossMetrics(
            PgClipFrac: MaskedMean(loss2.gt(loss1), mask),
            PpoKl: MaskedMean(-logRatio, mask),
            PgClipFracLower: 0);
        return new PolicyLossResult(Weighted(loss, input.RolloutWeights), metrics);
    }

    /// <summary>
    /// The sequence ratio s_i = exp(Σ_t m·(logπ_θ − logπ_old) / max(|y_i|, 1)) of GSPO, [batch, seq] → [batch] (no gradient).
    /// </summary>
    public static Tensor GspoSequenceRatio(Tensor logProb, Tensor oldLogProb, Tensor mask)
    {
        using var noGrad = no_grad();
        var valid = mask.gt(0);                                                     // [batch, seq]
        var logRatio = where(valid, logProb - oldLogProb, zeros_like(logProb));     // [batch, seq]
        return (logRatio.sum(1) / valid.to_type(logProb.dtype).sum(1).clamp_min(1)).exp(); // [batch]
    }

    /// <summary>
    /// Clip-Cov (docs/ALGORITHMS.md §6.2): ℓ = max(ℓ1, ℓ2)·corr with corr = 0 on the tokens chosen by
    /// <see cref="CovarianceSelection.ClipCov"/> (or <see cref="PolicyLossInput.CovSelection"/> when given), 1 elsewhere.
    /// As in verl, the log-ratio is not clamped and there is no dual clip.
    /// </summary>
    public static PolicyLossResult ClipCov(
        PolicyLossInput input,
        double clipLow,
        double clipHigh,
        double ratio,
        double lowerBound,
        double upperBound,
        Random random)
    {
        var (logProb, oldLogProb, advantages, mask) = input;
        var selection = input.CovSelection ?? CovarianceSelection.ClipCov(
            logProb, oldLogProb, advantages, mask, clipLow, clipHigh, ratio, lowerBound, upperBound, random); // [batch, seq]
        var logRatio = logProb - oldLogProb;                                        // [batch, seq]
        var r = logRatio.exp();                                                     // [batch, seq]
        var loss1 = -advantages * r;                                                // [batch, seq]
        var loss2 = -advantages * r.clamp(1 - clipLow, 1 + clipHigh);               // [batch, seq]
        var selected = selection.gt(0);                                             // [batch, seq]
        var loss = where(selected, zeros_like(loss1), maximum(loss1, loss2));       // [batch, seq]
        var metrics = new PolicyLossMetrics(
            PgClipFrac: MaskedMean(selected, mask),
            PpoKl: MaskedMean(-logRatio, mask),
            PgClipFracLower: 0);
        return new PolicyLossResult(Weighted(loss, input.RolloutWeights), metrics);
    }

    /// <summary>
    /// KL-Cov (docs/ALGORITHMS.md §6.3): ℓ = −A·r on every token, plus β·|log r| on the top-k covariance tokens chosen by
    /// <see cref="CovarianceSelection.KlCov"/> (or <see cref="PolicyLossInput.CovSelection"/>). No clip, no clamp (verl).
    /// </summary>
    public static PolicyLossResult KlCov(PolicyLossInput input, double ratio = 2e-4, double ppoKlCoef = 1.0)
    {
        var (logProb, oldLogProb, advantages, mask) = input;
        var selection = input.CovSelection ?? CovarianceSelection.KlCov(logProb, advantages, mask, ratio); // [batch, seq]
        var logRatio = logProb - oldLogProb;                                        // [batch, seq]
        var loss1 = -advantages * logRatio.exp();                                   // [batch, seq]
        var penalised = loss1 + (logRatio.abs() * ppoKlCoef);                       // [batch, seq]
        var loss = where(selection.gt(0), penalised, loss1);                        // [batch, seq]
        var metrics = new PolicyLossMetrics(PgClipFrac: 0, PpoKl: MaskedMean(logRatio.abs(), mask), PgClipFracLower: 0);
        return new PolicyLossResult(Weighted(loss, input.RolloutWeights), metrics);
    }

    /// <summary>Masked mean of a boolean or float [batch, seq] tensor as a double; 0 when nothing is valid.</summary>
    internal static double MaskedMean(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var valid = mask.gt(0);                                                     // [batch, seq]
        var count = valid.sum().item<long>();
        if (count == 0)
        {
            return 0;
        }
        var v = values.detach().to_type(ScalarType.Float64);                       // [batch, seq]
        return where(valid, v, zeros_like(v)).sum().item<double>() / count;
    }

    private static Tensor Weighted(Tensor loss, Tensor? weights) => weights is null ? loss : loss * weights; // [batch, seq]
}
