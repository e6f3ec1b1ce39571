namespace AgentRl.Policy.Training;

/// <summary>
/// What one RL update reports, as managed values. Loss parts and ratio metrics are averaged over the optimizer steps
/// of the update (PpoEpochs × MiniBatches); <see cref="GradNorm"/> is the pre-clipping norm, averaged likewise.
/// </summary>
public sealed record TrainStepMetrics
{
    /// <summary>Policy version after the update.</summary>
    public long PolicyVersion { get; init; }

    /// <summary>loss/total: pg + kl_coef·kl − entropy_coeff·H.</summary>
    public double Loss { get; init; }

    /// <summary>loss/pg: the aggregated policy loss.</summary>
    public double PolicyLoss { get; init; }

    /// <summary>loss/kl: the aggregated KL term when the KL loss is on.</summary>
    public double? KlLoss { get; init; }

    /// <summary>loss/entropy: the aggregated token entropy (same aggregation as the loss).</summary>
    public double EntropyLoss { get; init; }

    /// <summary>loss/pg_clipfrac: fraction of valid tokens whose clipped surrogate was taken.</summary>
    public double PgClipFrac { get; init; }

    /// <summary>loss/pg_clipfrac_lower: fraction hitting the dual clip (A &lt; 0).</summary>
    public double PgClipFracLower { get; init; }

    /// <summary>loss/ppo_kl: mean −log r over valid tokens (0 on the first on-policy pass).</summary>
    public double PpoKl { get; init; }

    /// <summary>actor/ref_kl: mean k3 KL to the reference over valid tokens, when a reference is kept.</summary>
    public double? ReferenceKl { get; init; }

    /// <summary>
    /// mismatch/kl_behav_prox: mean k3 KL(π_behav ‖ π_prox) over the loss tokens, the engine's recorded logprobs against the
    /// trainer's under the weights before the update (d = logπ_prox − logπ_behav; e^d − d − 1). Over the whole batch when
    /// decoupled PPO recomputes π_prox; otherwise from the first mini-batch's training forward (before any optimizer step:
    /// the whole batch when MiniBatches = 1).
    /// </summary>
    public double? BehaviourProxKl { get; init; }

    /// <summary>loss/rejected_frac: decoupled PPO's fraction of loss tokens whose w was masked or clamped; null for other losses.</summary>
    public double? RejectedFrac { get; init; }

    /// <summary>loss/behav_weight_mean: decoupled PPO's mean applied w = π_prox/π_behav over loss tokens; null for other losses.</summary>
    public double? BehaviourWeightMean { get; init; }

    /// <summary>actor/entropy: mean token entropy over valid tokens.</summary>
    public double MeanEntropy { get; init; }

    /// <summary>actor/grad_norm: global L2 gradient norm before clipping.</summary>
    public double GradNorm { get; init; }

    /// <summary>actor/lr: learning rate of the last optimizer step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Optimizer steps taken (steps with a non-finite gradient norm are skipped and not counted).</summary>
    public int OptimizerSteps { get; init; }

    /// <summary>perf/tokens: sequence tokens forwarded and back-propagated (all passes).</summary>
    public long TokensTrained { get; init; }

    /// <summary>
    /// perf/forward_tokens: tokens the training forward ran, padding included (all passes); below the sequences' tokens
    /// when rollout-tree prefixes were computed once (<see cref="PrefixPacking"/>).
    /// </summary>
    public long ForwardTokens { get; init; }

    /// <summary>perf/loss_tokens: mask-1 tokens in the batch (one pass).</summary>
    public long LossTokens { get; init; }

    /// <summary>perf/update_tokens_per_s: <see cref="TokensTrained"/> / <see cref="Seconds"/> (the rollout's generation rate is <c>perf/tokens_per_s</c>).</summary>
    public double TokensPerSecond { get; init; }

    /// <summary>perf/update_seconds: wall time of the update.</summary>
    public double Seconds { get; init; }

    /// <summary>The metrics under their stable names.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var metrics = new Dictionary<string, double>
        {
            ["actor/policy_version"] = PolicyVersion,
            ["loss/total"] = Loss,
            ["loss/pg"] = PolicyLoss,
            ["loss/entropy"] = EntropyLoss,
            ["loss/pg_clipfrac"] = PgClipFrac,
            ["loss/pg_clipfrac_lower"] = PgClipFracLower,
            ["loss/ppo_kl"] = PpoKl,
            ["actor/entropy"] = MeanEntropy,
            ["actor/grad_norm"] = GradNorm,
            ["actor/lr"] = LearningRate,
            ["actor/optimizer_steps"] = OptimizerSteps,
            ["perf/tokens"] = TokensTrained,
            ["perf/loss_tokens"] = LossTokens,
            ["perf/forward_tokens"] = ForwardTokens,
            ["perf/update_tokens_per_s"] = TokensPerSecond,
            ["perf/update_seconds"] = Seconds,
        };
        if (KlLoss is { } kl)
        {
            metrics["loss/kl"] = kl;
        }
        if (ReferenceKl is { } refKl)
        {
            metrics["actor/ref_kl"] = refKl;
        }
        if (BehaviourProxKl is { } mismatch)
        {
            metrics["mismatch/kl_behav_prox"] = mismatch;
        }
        if (RejectedFrac is { } rejected)
        {
            metrics["loss/rejected_frac"] = rejected;
        }
        if (BehaviourWeightMean is { } weight)
        {
            metrics["loss/behav_weight_mean"] = weight;
        }
        return metrics;
    }
}

/// <summary>What one supervised step reports.</summary>
/// <param name="PolicyVersion">Policy version after the step.</param>
/// <param name="Loss">sft/loss: mean cross-entropy (nats) over the assistant tokens of the batch, before the update.</param>
/// <param name="GradNorm">sft/grad_norm: global L2 gradient norm before clipping.</param>
/// <param name="LearningRate">sft/lr.</param>
/// <param name="LossTokens">Assistant tokens in the loss.</param>
/// <param name="TokensTrained">Sequence tokens forwarded and back-propagated.</param>
/// <param name="TokensPerSecond">perf/update_tokens_per_s (reported as <c>sft/perf/update_tokens_per_s</c>).</param>
/// <param name="Seconds">Wall time of the step.</param>
/// <param name="MicroBatches">perf/micro_batches: forward and backward passes the batch was cut into.</param>
/// <param name="PaddedTokens">perf/padded_tokens: tokens forwarded with the padding, rows × longest row summed over the micro-batches.</param>
public sealed record SftStepMetrics(
    long PolicyVersion,
    double Loss,
    double GradNorm,
    double LearningRate,
    long LossTokens,
    long TokensTrained,
    double TokensPerSecond,
    double Seconds,
    int MicroBatches,
    long PaddedTokens)
{
    /// <summary>The metrics under their stable names.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["actor/policy_version"] = PolicyVersion,
        ["sft/loss"] = Loss,
        ["sft/grad_norm"] = GradNorm,
        ["sft/lr"] = LearningRate,
        ["perf/loss_tokens"] = LossTokens,
        ["perf/tokens"] = TokensTrained,
        ["perf/update_tokens_per_s"] = TokensPerSecond,
        ["perf/update_seconds"] = Seconds,
        ["perf/micro_batches"] = MicroBatches,
        ["perf/padded_tokens"] = PaddedTokens,
    };
}
