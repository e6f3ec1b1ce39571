namespace AgentRl.Policy.Objectives;

/// <summary>
/// Every knob of the RL objective in one place, each with its documented default (ALGORITHMS.md §0.3 table, §3, §6;
/// verl <c>actor.yaml</c> / <c>ppo_trainer.yaml</c> names in brackets). The defaults are verl's; <see cref="ForAlgorithm"/>
/// gives the presets of the named algorithms.
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
    /// (ALGORITHMS.md §6.3), so a verl-parity run must set 0.1 explicitly.
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

    /// <summary>DAPO overlong buffer length L_buf in tokens [<c>overlong_buffer.len</c>]. Default 4096.</summary>
    public int OverlongBufferLength { get; init; } = OverlongRewardShaping.DefaultBufferLength;

    /// <summary>DAPO overlong penalty at max length [<c>overlong_buffer.penalty_factor</c>]. Default 1.0.</summary>
    public double OverlongPenaltyFactor { get; init; } = OverlongRewardShaping.DefaultPenaltyFactor;

    /// <summary>The names <see cref="ForAlgorithm"/> accepts.</summary>
    public static IReadOnlyList<string> AlgorithmNames { get; } =
        ["grpo", "drgrpo", "rloo", "reinforce++", "dapo", "gspo", "clip_cov", "kl_cov", "arpo"];

    /// <summary>
    /// Preset of a named algorithm (ALGORITHMS.md §3, §6.4):
    /// <list type="bullet">
    /// <item><c>grpo</c>: GRPO advantage, vanilla, token-mean (verl default; the paper used seq-mean-token-mean), clip 0.2/0.2, k3 KL loss 0.001.</item>
    /// <item><c>drgrpo</c>: Dr.GRPO advantage (no std), vanilla, seq-mean-token-sum-norm, clip 0.2/0.2, no KL.</item>
    /// <item><c>rloo</c>: RLOO advantage, vanilla, token-mean, clip 0.2/0.2, no KL loss; k1 KL in the reward (β 0.001, fixed) as verl's RLOO example.</item>
    /// <item><c>reinforce++</c>: REINFORCE++-baseline advantage, vanilla, token-mean, clip 0.2/0.2, k2 (mse) KL loss 0.001 as in verl's example.</item>
    /// <item><c>dapo</c>: GRPO advantage, vanilla with clip-higher 0.2/0.28, token-mean, no KL, dynamic sampling (≤ 10 generation batches), overlong buffer 4096 / 1.0.</item>
    /// <item><c>gspo</c>: GRPO advantage, GSPO loss, seq-mean-token-mean (forced), clip 3e-4/4e-4, no KL.</item>
    /// <item><c>arpo</c>: the ARPO scripts' objective (ALGORITHMS.md §1.7): GRPO advantage, vanilla, token-mean, clip 0.2/0.2; their KL loss has coefficient 0, so none.</item>
    /// <item><c>clip_cov</c> / <c>kl_cov</c>: the §6.4 recipe on DAPO: token-mean, dynamic sampling, no KL; Clip-Cov with clip 1/1 and c = 10.</item>
    /// </list>
    /// </summary>
    public static ObjectiveOptions ForAlgorithm(string name) => name.Trim().ToLowerInvariant() switch
    {
        "grpo" => new() { UseKlLoss = true, KlLossType = KlEstimator.K3, KlLossCoef = 0.001 },
        "drgrpo" or "dr_grpo" or "dr.grpo" => new()
        {
            AdvantageEstimator = AdvantageEstimator.DrGrpo,
            LossAggMode = LossAggMode.SeqMeanTokenSumNorm,
        },
        "rloo" => new() { AdvantageEstimator = AdvantageEstimator.Rloo, UseKlInReward = true },
        "reinforce++" or "reinforce_plus_plus_baseline" => new()
        {
            AdvantageEstimator = AdvantageEstimator.ReinforcePlusPlusBaseline,
            UseKlLoss = true,
            KlLossType = KlEstimator.K2,
            KlLossCoef = 0.001,
        },
        "dapo" => Dapo,
        "gspo" => new()
        {
            PolicyLoss = PolicyLossKind.Gspo,
            LossAggMode = LossAggMode.SeqMeanTokenMean,
            ClipRatioLow = 3e-4,
            ClipRatioHigh = 4e-4,
        },
        "clip_cov" => Dapo with
        {
            PolicyLoss = PolicyLossKind.ClipCov,
            ClipRatioLow = 1.0,
            ClipRatioHigh = 1.0,
            ClipRatioC = 10.0,
            OverlongBuffer = false,
        },
        "kl_cov" => Dapo with { PolicyLoss = PolicyLossKind.KlCov, OverlongBuffer = false },
        "arpo" => new(),
        _ => throw new ArgumentException(
            $"Unknown algorithm '{name}'. Known: {string.Join(", ", AlgorithmNames)}.", nameof(name)),
    };

    private static ObjectiveOptions Dapo { get; } = new()
    {
        ClipRatioLow = 0.2,
        ClipRatioHigh = 0.28,
        LossAggMode = LossAggMode.TokenMean,
        UseKlLoss = false,
        FilterGroups = true,
        MaxNumGenBatches = 10,
        OverlongBuffer = true,
    };

    /// <summary>A fresh controller for the reward KL penalty, as configured.</summary>
    public IKlController CreateKlController() => KlCtrlAdaptive
        ? new AdaptiveKlController(KlCtrlCoef, KlCtrlTarget, KlCtrlHorizon)
        : new FixedKlController(KlCtrlCoef);

    /// <summary>Throws when a combination is invalid (verl asserts the same); returns this for chaining.</summary>
    public ObjectiveOptions Validate()
    {
        if (!(ClipRatioC > 1.0))
        {
            throw new ArgumentException($"ClipRatioC must be > 1 (got {ClipRatioC}).");
        }
        if (ClipRatioLow < 0 || ClipRatioHigh < 0)
        {
            throw new ArgumentException("ClipRatioLow and ClipRatioHigh must be ≥ 0.");
        }
        if (PolicyLoss == PolicyLossKind.Gspo && LossAggMode != LossAggMode.SeqMeanTokenMean)
        {
            throw new ArgumentException("GSPO requires LossAggMode = seq-mean-token-mean (ALGORITHMS.md §3.3).");
        }
        if (PolicyLoss == PolicyLossKind.ClipCov && !(ClipCovRatio > 0))
        {
            throw new ArgumentException("ClipCovRatio must be > 0.");
        }
        if (PolicyLoss == PolicyLossKind.KlCov && !(KlCovRatio > 0))
        {
            throw new ArgumentException("KlCovRatio must be > 0.");
        }
        if (LossScaleFactor is { } k && !(k > 0))
        {
            throw new ArgumentException("LossScaleFactor must be > 0 when set.");
        }
        if (OverlongBuffer && OverlongBufferLength <= 0)
        {
            throw new ArgumentException("OverlongBufferLength must be > 0 when the overlong buffer is on.");
        }
        return this;
    }
}
