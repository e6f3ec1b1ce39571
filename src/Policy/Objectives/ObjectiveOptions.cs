using AgentRl.Abstractions.Configuration;

namespace AgentRl.Policy.Objectives;

/// <summary>
/// Every knob of the RL objective in one place, each with its documented default (docs/ALGORITHMS.md §0.3 table, §3, §6;
/// verl <c>actor.yaml</c> / <c>ppo_trainer.yaml</c> names in brackets). The defaults are verl's; the algorithm registry
/// (<see cref="Algorithms.AlgorithmRegistry"/>) holds the presets of the named algorithms, and a run overrides any field
/// with <c>--set objective.NAME=VALUE</c> (camelCase property names).
/// </summary>
public sealed record ObjectiveOptions
{
    /// <summary>Advantage estimator [<c>algorithm.adv_estimator</c>]. Default <see cref="AdvantageEstimator.Grpo"/>.</summary>
    public AdvantageEstimator AdvantageEstimator { get; init; } = AdvantageEstimator.Grpo;

    /// <summary>ε added to the group std in GRPO [<c>epsilon</c>]. Default 1e-6.</summary>
    public double AdvantageEpsilon { get; init; } = 1e-6;

    /// <summary>Per-token policy loss [<c>policy_loss.loss_mode</c>]. Default <see cref="PolicyLossKind.Vanilla"/>.</summary>
    public PolicyLossKind PolicyLoss { get; init; } = PolicyLossKind.Vanilla;

    /// <summary>How loss matrices become scalars [<c>loss_agg_mode</c>]. Default <see cref="LossAggMode.TokenMean"/>.</summary>
    public LossAggMode LossAggMode { get; init; } = LossAggMode.TokenMean;

    /// <summary>
    /// K of <c>seq-mean-token-sum-norm</c> [<c>loss_scale_factor</c>]. Default null, meaning the mask width (max response
    /// length of the batch); set a constant for the Dr.GRPO paper's fixed normaliser.
    /// </summary>
    public double? LossScaleFactor { get; init; }

    /// <summary>ε_low: the ratio is clipped below at 1 − ε_low [<c>clip_ratio_low</c>]. Default 0.2.</summary>
    public double ClipRatioLow { get; init; } = 0.2;

    /// <summary>ε_high: the ratio is clipped above at 1 + ε_high [<c>clip_ratio_high</c>]. Default 0.2 (DAPO: 0.28).</summary>
    public double ClipRatioHigh { get; init; } = 0.2;

    /// <summary>Dual-clip bound c for A &lt; 0; must be &gt; 1 [<c>clip_ratio_c</c>]. Default 3.0.</summary>
    public double ClipRatioC { get; init; } = 3.0;

    /// <summary>Add the KL-to-reference term to the loss [<c>use_kl_loss</c>]. Default false.</summary>
    public bool UseKlLoss { get; init; }

    /// <summary>Weight of the KL term [<c>kl_loss_coef</c>]. Default 0.001.</summary>
    public double KlLossCoef { get; init; } = 0.001;

    /// <summary>KL estimator of the KL term [<c>kl_loss_type</c>]. Default <see cref="KlEstimator.K3"/> (low_var_kl).</summary>
    public KlEstimator KlLossType { get; init; } = KlEstimator.K3;

    /// <summary>Penalise the token rewards with β·kl(old, ref) instead (PPO style) [<c>algorithm.use_kl_in_reward</c>]. Default false.</summary>
    public bool UseKlInReward { get; init; }

    /// <summary>KL estimator of the reward penalty [<c>algorithm.kl_penalty</c>]. Default <see cref="KlEstimator.K1"/> (kl).</summary>
    public KlEstimator KlInRewardType { get; init; } = KlEstimator.K1;

    /// <summary>Initial β of the reward penalty [<c>algorithm.kl_ctrl.kl_coef</c>]. Default 0.001.</summary>
    public double KlCtrlCoef { get; init; } = 0.001;

    /// <summary>Adapt β towards <see cref="KlCtrlTarget"/> [<c>algorithm.kl_ctrl.type</c> = adaptive]. Default false (fixed).</summary>
    public bool KlCtrlAdaptive { get; init; }

    /// <summary>Target KL of the adaptive controller [<c>algorithm.kl_ctrl.target_kl</c>]. Default 0.1.</summary>
    public double KlCtrlTarget { get; init; } = 0.1;

    /// <summary>Horizon of the adaptive controller [<c>algorithm.kl_ctrl.horizon</c>]. Default 10000.</summary>
    public double KlCtrlHorizon { get; init; } = 10000;

    /// <summary>Weight of the entropy bonus, subtracted from the loss [<c>entropy_coeff</c>]. Default 0.</summary>
    public double EntropyCoeff { get; init; }

    /// <summary>Clip-Cov: fraction r of valid tokens to detach, k = max(1, floor(r·N)) [<c>clip_cov_ratio</c>]. Default 2e-4.</summary>
    public double ClipCovRatio { get; init; } = 2e-4;

    /// <summary>Clip-Cov: candidates need covariance &gt; ω_low [<c>clip_cov_lb</c>]. Default 1.0.</summary>
    public double ClipCovLowerBound { get; init; } = 1.0;

    /// <summary>Clip-Cov: candidates need covariance &lt; ω_high [<c>clip_cov_ub</c>]. Default 5.0.</summary>
    public double ClipCovUpperBound { get; init; } = 5.0;

    /// <summary>KL-Cov: fraction κ of valid tokens penalised, k = max(1, floor(N·κ)) [<c>kl_cov_ratio</c>]. Default 2e-4.</summary>
    public double KlCovRatio { get; init; } = 2e-4;

    /// <summary>
    /// KL-Cov: β of the |log r| penalty [<c>ppo_kl_coef</c>]. Default 1.0, the paper's value; verl's actor.yaml has 0.1
    /// (docs/ALGORITHMS.md §6.3), so a verl-parity run must set 0.1 explicitly.
    /// </summary>
    public double PpoKlCoef { get; init; } = 1.0;

    /// <summary>DAPO dynamic sampling: drop groups whose metric has zero spread [<c>filter_groups.enable</c>]. Default false.</summary>
    public bool FilterGroups { get; init; }

    /// <summary>
    /// DAPO dynamic sampling: generation batches allowed before giving up; ≤ 0 means unlimited
    /// [<c>filter_groups.max_num_gen_batches</c>]. Default 0 (DAPO example: 10).
    /// </summary>
    public int MaxNumGenBatches { get; init; }

    /// <summary>DAPO overlong reward shaping on or off [<c>overlong_buffer.enable</c>]. Default false.</summary>
    public bool OverlongBuffer { get; init; }

    /// <summary>
    /// DAPO overlong buffer length L_buf in tokens [<c>overlong_buffer.len</c>]. Default null: a fifth of the trajectory's
    /// max response length, DAPO's proportion (4096 of 20480); the reference's absolute 4096 would cover every response of
    /// a few-hundred-token agent budget.
    /// </summary>
    public int? OverlongBufferLength { get; init; }

    /// <summary>DAPO overlong penalty at max length [<c>overlong_buffer.penalty_factor</c>]. Default 1.0.</summary>
    public double OverlongPenaltyFactor { get; init; } = OverlongRewardShaping.DefaultPenaltyFactor;

    /// <summary>
    /// AEPO's entropy-aware advantage A·(1 + α·sg(Ĥ)), Ĥ the standardised token entropy of the training forward pass
    /// (docs/ALGORITHMS.md §2.2 d): α, 0 = off. Default 0 (the <c>aepo</c> preset: 0.2).
    /// </summary>
    public double EntropyAdvantageAlpha { get; init; }

    /// <summary>
    /// <c>decoupled-ppo</c>: granularity of the rejection sampling of w = π_prox/π_behav [AReaL
    /// <c>rejection_sampling.level</c>]. Default <see cref="RejectionLevel.Token"/>; <see cref="RejectionLevel.None"/> drops w
    /// (AReaL's current default, <c>rejection_sampling: null</c>).
    /// </summary>
    public RejectionLevel RejectionLevel { get; init; } = RejectionLevel.Token;

    /// <summary>
    /// <c>decoupled-ppo</c>: what happens to a w outside [<see cref="RejectionLower"/>, <see cref="RejectionUpper"/>]
    /// [<c>rejection_sampling.action</c>]. Default <see cref="RejectionAction.Mask"/>.
    /// </summary>
    public RejectionAction RejectionAction { get; init; } = RejectionAction.Mask;

    /// <summary><c>decoupled-ppo</c>: upper bound of w, &gt; 1 [<c>rejection_sampling.upper</c>]. Default 5.0.</summary>
    public double RejectionUpper { get; init; } = 5.0;

    /// <summary>
    /// <c>decoupled-ppo</c>: lower bound of w, in (0, <see cref="RejectionUpper"/>) [<c>rejection_sampling.lower</c>]. Default
    /// null: no lower bound (clamp truncates at 0).
    /// </summary>
    public double? RejectionLower { get; init; }

    /// <summary>
    /// <c>decoupled-ppo</c>: how logπ_prox is obtained [AReaL <c>prox_logp_method</c>]. Default
    /// <see cref="ProxLogprobMethod.Recompute"/>; <see cref="ProxLogprobMethod.Loglinear"/> needs per-token versions.
    /// </summary>
    public ProxLogprobMethod ProxLogprobs { get; init; } = ProxLogprobMethod.Recompute;

    /// <summary>A fresh controller for the reward KL penalty, as configured.</summary>
    public IKlController CreateKlController() => KlCtrlAdaptive
        ? new AdaptiveKlController(KlCtrlCoef, KlCtrlTarget, KlCtrlHorizon)
        : new FixedKlController(KlCtrlCoef);

    /// <summary>
    /// Every problem with the fields, each naming the field (camelCase, as <c>--set objective.NAME</c> takes it), its value
    /// and the allowed range; empty when valid. The combinations verl asserts are checked too.
    /// </summary>
    public IEnumerable<string> Problems()
    {
        var check = new OptionChecks();
        check.Positive(nameof(AdvantageEpsilon), AdvantageEpsilon);
        check.AtLeast(nameof(ClipRatioLow), ClipRatioLow, 0);
        check.AtLeast(nameof(ClipRatioHigh), ClipRatioHigh, 0);
        check.Above(nameof(ClipRatioC), ClipRatioC, 1.0);
        check.AtLeast(nameof(KlLossCoef), KlLossCoef, 0);
        check.AtLeast(nameof(KlCtrlCoef), KlCtrlCoef, 0);
        check.Positive(nameof(KlCtrlTarget), KlCtrlTarget);
        check.Positive(nameof(KlCtrlHorizon), KlCtrlHorizon);
        check.Finite(nameof(EntropyCoeff), EntropyCoeff);
        check.Positive(nameof(ClipCovRatio), ClipCovRatio);
        check.Finite(nameof(ClipCovLowerBound), ClipCovLowerBound);
        check.Finite(nameof(ClipCovUpperBound), ClipCovUpperBound);
        check.Positive(nameof(KlCovRatio), KlCovRatio);
        check.AtLeast(nameof(PpoKlCoef), PpoKlCoef, 0);
        check.AtLeast(nameof(MaxNumGenBatches), MaxNumGenBatches, 0);
        check.AtLeast(nameof(OverlongPenaltyFactor), OverlongPenaltyFactor, 0);
        check.AtLeast(nameof(EntropyAdvantageAlpha), EntropyAdvantageAlpha, 0);
        if (LossScaleFactor is { } k)
        {
            check.Positive(nameof(LossScaleFactor), k);
        }
        if (OverlongBufferLength is { } buffer)
        {
            check.Positive(nameof(OverlongBufferLength), buffer);
        }
        check.Above(nameof(RejectionUpper), RejectionUpper, 1.0);
        if (RejectionLower is { } lower)
        {
            check.Positive(nameof(RejectionLower), lower);
            if (lower >= RejectionUpper)
            {
                check.Add($"rejectionLower ({lower}) must be below rejectionUpper ({RejectionUpper})");
            }
        }
        Defined(check, nameof(RejectionLevel), RejectionLevel);
        Defined(check, nameof(RejectionAction), RejectionAction);
        Defined(check, nameof(ProxLogprobs), ProxLogprobs);
        if (ClipCovLowerBound >= ClipCovUpperBound)
        {
            check.Add($"clipCovLowerBound ({ClipCovLowerBound}) must be below clipCovUpperBound ({ClipCovUpperBound})");
        }
        if (PolicyLoss == PolicyLossKind.Gspo && LossAggMode != LossAggMode.SeqMeanTokenMean)
        {
            check.Add($"policyLoss gspo requires lossAggMode seq-mean-token-mean (docs/ALGORITHMS.md §3.3), not {ObjectiveNames.Name(LossAggMode)}");
        }
        if (PolicyLoss == PolicyLossKind.EntropyBalanced && ClipRatioLow >= 1)
        {
            check.Add($"policyLoss entropy-balanced needs clipRatioLow < 1 (got {ClipRatioLow})");
        }
        return check.Problems;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every <see cref="Problems"/>; returns this for chaining.</summary>
    public ObjectiveOptions Validate() => OptionChecks.ThrowIfAny(this, Problems(), "objective");

    private static void Defined<TEnum>(OptionChecks check, string field, TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            check.Add($"{OptionChecks.Camel(field)} = {value} is not one of {string.Join(", ", Enum.GetNames<TEnum>().Select(OptionChecks.Camel))}");
        }
    }
}
