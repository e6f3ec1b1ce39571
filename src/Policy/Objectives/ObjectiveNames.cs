namespace AgentRl.Policy.Objectives;

/// <summary>Outcome-reward advantage estimators (verl <c>algorithm.adv_estimator</c>).</summary>
public enum AdvantageEstimator
{
    /// <summary><c>grpo</c>: (s − μ_group) / (σ_group unbiased + ε). docs/ALGORITHMS.md §0.2.</summary>
    Grpo,

    /// <summary><c>drgrpo</c>: s − μ_group, no std normalisation (verl <c>norm_adv_by_std_in_grpo=False</c>).</summary>
    DrGrpo,

    /// <summary><c>rloo</c>: s − mean of the other members of the group (leave-one-out baseline).</summary>
    Rloo,

    /// <summary><c>reinforce_plus_plus_baseline</c>: s − μ_group, then token-level whitening over the batch.</summary>
    ReinforcePlusPlusBaseline,
}

/// <summary>Per-token policy losses (verl <c>policy_loss.loss_mode</c>). DAPO is <see cref="Vanilla"/> with clip-higher.</summary>
public enum PolicyLossKind
{
    /// <summary><c>vanilla</c>: PPO clip with dual clip, docs/ALGORITHMS.md §0.3.</summary>
    Vanilla,

    /// <summary><c>gspo</c>: sequence-level ratio, docs/ALGORITHMS.md §3.3.</summary>
    Gspo,

    /// <summary><c>clip_cov</c>: PPO clip plus random detaching of high-covariance tokens, docs/ALGORITHMS.md §6.2.</summary>
    ClipCov,

    /// <summary><c>kl_cov</c>: unclipped surrogate plus |log r| penalty on the top-covariance tokens, docs/ALGORITHMS.md §6.3.</summary>
    KlCov,

    /// <summary>
    /// <c>entropy-balanced</c>: AEPO's entropy-balanced clipping, the upper bound (1 + ε_high)·r/sg(r) so that clipped
    /// tokens with A &gt; 0 keep a rescaled gradient, then the dual clip (docs/ALGORITHMS.md §2.2 c).
    /// </summary>
    EntropyBalanced,

    /// <summary>
    /// <c>decoupled-ppo</c>: AReaL's decoupled PPO (docs/ALGORITHMS.md §5.2), the dual-clip surrogate on u = π_θ/π_prox times
    /// the behaviour weight w = π_prox/π_behav after rejection sampling; π_prox is the trainer's weights before the update.
    /// </summary>
    DecoupledPpo,
}

/// <summary>Granularity of decoupled PPO's rejection sampling of w = π_prox/π_behav (AReaL <c>rejection_sampling.level</c>).</summary>
public enum RejectionLevel
{
    /// <summary><c>token</c>: each token's w is judged against the bounds on its own.</summary>
    Token,

    /// <summary>
    /// <c>sequence</c>: the sequence's geometric mean exp(mean_t log w) is judged, and is every token's w (AReaL's
    /// <c>agg: mean</c> of the ratio in log space).
    /// </summary>
    Sequence,

    /// <summary><c>none</c>: no behaviour weight at all (w = 1), PPO against π_prox only (AReaL's <c>rejection_sampling: null</c>).</summary>
    None,
}

/// <summary>What rejection sampling does to a w outside the bounds (AReaL <c>rejection_sampling.action</c>).</summary>
public enum RejectionAction
{
    /// <summary><c>mask</c>: the token (or sequence) leaves the loss, w = 0; the aggregation denominator is unchanged.</summary>
    Mask,

    /// <summary><c>clamp</c>: w is truncated to [lower, upper] (lower 0 when unset).</summary>
    Clamp,
}

/// <summary>Where decoupled PPO's logπ_prox comes from (AReaL <c>prox_logp_method</c>).</summary>
public enum ProxLogprobMethod
{
    /// <summary><c>recompute</c>: a no-gradient forward of the batch under the weights before the update.</summary>
    Recompute,

    /// <summary>
    /// <c>loglinear</c>: log π_prox ≈ log π_behav + α·(sg(log π_θ) − log π_behav), α = (v_prox − v_behav)/(v_θ − v_behav)
    /// from per-token versions; no extra forward.
    /// </summary>
    Loglinear,
}

/// <summary>The four loss aggregation modes of docs/ALGORITHMS.md §0.4 (verl <c>loss_agg_mode</c>).</summary>
public enum LossAggMode
{
    /// <summary><c>token-mean</c>: Σ m·L / N_tokens × dp_size.</summary>
    TokenMean,

    /// <summary><c>seq-mean-token-sum</c>: Σ_b (Σ_t m·L) / N_seq × dp_size.</summary>
    SeqMeanTokenSum,

    /// <summary><c>seq-mean-token-mean</c>: Σ_b (Σ_t m·L / (Σ_t m + 1e-8)) / N_seq × dp_size.</summary>
    SeqMeanTokenMean,

    /// <summary><c>seq-mean-token-sum-norm</c>: Σ m·L / K, K = loss_scale_factor or the mask width.</summary>
    SeqMeanTokenSumNorm,
}

/// <summary>KL estimators of docs/ALGORITHMS.md §0.5 (verl <c>kl_loss_type</c>). The <c>…Plus</c> kinds are straight-through.</summary>
public enum KlEstimator
{
    /// <summary><c>k1</c> / <c>kl</c>: logπ_θ − logπ_ref.</summary>
    K1,

    /// <summary><c>abs</c>: |logπ_θ − logπ_ref|.</summary>
    Abs,

    /// <summary><c>k2</c> / <c>mse</c>: ½(logπ_θ − logπ_ref)².</summary>
    K2,

    /// <summary><c>k3</c> / <c>low_var_kl</c>: e^d − d − 1 with d = clamp(logπ_ref − logπ_θ, ±20), result clamped to ±10.</summary>
    K3,

    /// <summary><c>k1+</c>: forward value of k1, gradient of k2.</summary>
    K1Plus,

    /// <summary><c>abs+</c>: forward value of abs, gradient of k2.</summary>
    AbsPlus,

    /// <summary><c>k3+</c> / <c>low_var_kl+</c>: forward value of k3, gradient of k2.</summary>
    K3Plus,
}

/// <summary>The verl names of the objective pieces; each name maps to exactly one enum value and back.</summary>
public static class ObjectiveNames
{
    public static AdvantageEstimator ParseAdvantageEstimator(string name) => name.Trim().ToLowerInvariant() switch
    {
        "grpo" => AdvantageEstimator.Grpo,
        "drgrpo" or "dr_grpo" or "dr.grpo" => AdvantageEstimator.DrGrpo,
        "rloo" => AdvantageEstimator.Rloo,
        "reinforce_plus_plus_baseline" or "reinforce++" or "reinforce++_baseline" => AdvantageEstimator.ReinforcePlusPlusBaseline,
        _ => throw Unknown(name, "advantage estimator", "grpo, drgrpo, rloo, reinforce_plus_plus_baseline"),
    };

    public static string Name(AdvantageEstimator value) => value switch
    {
        AdvantageEstimator.Grpo => "grpo",
        AdvantageEstimator.DrGrpo => "drgrpo",
        AdvantageEstimator.Rloo => "rloo",
        AdvantageEstimator.ReinforcePlusPlusBaseline => "reinforce_plus_plus_baseline",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static PolicyLossKind ParsePolicyLoss(string name) => name.Trim().ToLowerInvariant() switch
    {
        "vanilla" => PolicyLossKind.Vanilla,
        "gspo" => PolicyLossKind.Gspo,
        "clip_cov" => PolicyLossKind.ClipCov,
        "kl_cov" => PolicyLossKind.KlCov,
        "entropy-balanced" => PolicyLossKind.EntropyBalanced,
        "decoupled-ppo" => PolicyLossKind.DecoupledPpo,
        _ => throw Unknown(name, "policy loss", "vanilla, gspo, clip_cov, kl_cov, entropy-balanced, decoupled-ppo"),
    };

    public static string Name(PolicyLossKind value) => value switch
    {
        PolicyLossKind.Vanilla => "vanilla",
        PolicyLossKind.Gspo => "gspo",
        PolicyLossKind.ClipCov => "clip_cov",
        PolicyLossKind.KlCov => "kl_cov",
        PolicyLossKind.EntropyBalanced => "entropy-balanced",
        PolicyLossKind.DecoupledPpo => "decoupled-ppo",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static LossAggMode ParseLossAggMode(string name) => name.Trim().ToLowerInvariant() switch
    {
        "token-mean" => LossAggMode.TokenMean,
        "seq-mean-token-sum" => LossAggMode.SeqMeanTokenSum,
        "seq-mean-token-mean" => LossAggMode.SeqMeanTokenMean,
        "seq-mean-token-sum-norm" => LossAggMode.SeqMeanTokenSumNorm,
        _ => throw Unknown(name, "loss aggregation mode", "token-mean, seq-mean-token-sum, seq-mean-token-mean, seq-mean-token-sum-norm"),
    };

    public static string Name(LossAggMode value) => value switch
    {
        LossAggMode.TokenMean => "token-mean",
        LossAggMode.SeqMeanTokenSum => "seq-mean-token-sum",
        LossAggMode.SeqMeanTokenMean => "seq-mean-token-mean",
        LossAggMode.SeqMeanTokenSumNorm => "seq-mean-token-sum-norm",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static KlEstimator ParseKlEstimator(string name) => name.Trim().ToLowerInvariant() switch
    {
        "k1" or "kl" => KlEstimator.K1,
        "abs" => KlEstimator.Abs,
        // verl: a "+" on k2 changes nothing (forward and gradient are already k2).
        "k2" or "mse" or "k2+" or "mse+" => KlEstimator.K2,
        "k3" or "low_var_kl" => KlEstimator.K3,
        "k1+" or "kl+" => KlEstimator.K1Plus,
        "abs+" => KlEstimator.AbsPlus,
        "k3+" or "low_var_kl+" => KlEstimator.K3Plus,
        _ => throw Unknown(name, "KL estimator", "k1 (kl), abs, k2 (mse), k3 (low_var_kl), and k1+, abs+, k3+"),
    };

    public static string Name(KlEstimator value) => value switch
    {
        KlEstimator.K1 => "k1",
        KlEstimator.Abs => "abs",
        KlEstimator.K2 => "k2",
        KlEstimator.K3 => "k3",
        KlEstimator.K1Plus => "k1+",
        KlEstimator.AbsPlus => "abs+",
        KlEstimator.K3Plus => "k3+",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    private static ArgumentException Unknown(string name, string what, string known) =>
        new($"Unknown {what} '{name}'. Known: {known}.", nameof(name));
}
