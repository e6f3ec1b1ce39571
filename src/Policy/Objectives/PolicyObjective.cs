using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>What the actor update feeds the objective for one (micro-)batch; tensors are [batch, seq].</summary>
/// <param name="LogProb">logπ_θ of the sampled tokens, with gradient.</param>
/// <param name="OldLogProb">logπ_old recorded at rollout.</param>
/// <param name="Advantages">Per-token advantages (<see cref="AdvantageResult.PerToken"/>).</param>
/// <param name="ResponseMask">1 where the token is trainable (tool-output tokens are 0).</param>
public sealed record ObjectiveInput(Tensor LogProb, Tensor OldLogProb, Tensor Advantages, Tensor ResponseMask)
{
    /// <summary>logπ_ref; required when <see cref="ObjectiveOptions.UseKlLoss"/>.</summary>
    public Tensor? RefLogProb { get; init; }

    /// <summary>Token entropy H (<see cref="TokenEntropy.FromLogits"/>), with gradient; required when EntropyCoeff ≠ 0.</summary>
    public Tensor? Entropy { get; init; }

    /// <summary>Optional rollout-correction weight w per token.</summary>
    public Tensor? RolloutWeights { get; init; }

    /// <summary>Optional global Clip-Cov / KL-Cov selection sliced to this batch (<see cref="CovarianceSelection"/>).</summary>
    public Tensor? CovSelection { get; init; }

    /// <summary>logπ_prox (no gradient); required by <see cref="PolicyLossKind.DecoupledPpo"/>, where OldLogProb is logπ_behav.</summary>
    public Tensor? ProxLogProb { get; init; }
}

/// <summary>The scalar loss to call <c>backward()</c> on, its parts, and metrics under stable names.</summary>
/// <param name="Loss">pg + kl_coef·agg(kl) − entropy_coeff·agg(H), a scalar with gradient.</param>
/// <param name="PolicyLoss">agg(policy loss matrix).</param>
/// <param name="KlLoss">agg(kl) when the KL loss is on, else null.</param>
/// <param name="EntropyLoss">agg(H) when an entropy tensor was given, else null.</param>
/// <param name="Metrics">
/// loss/total, loss/pg, loss/kl, loss/entropy, loss/pg_clipfrac, loss/ppo_kl, loss/pg_clipfrac_lower; decoupled PPO adds
/// loss/rejected_frac and loss/behav_weight_mean.
/// </param>
public sealed record ObjectiveResult(
    Tensor Loss,
    Tensor PolicyLoss,
    Tensor? KlLoss,
    Tensor? EntropyLoss,
    IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// The total actor loss (docs/ALGORITHMS.md §0.5): <c>pg + kl_loss_coef·agg(kl) − entropy_coeff·agg(H)</c>, every term
/// aggregated with the same <see cref="ObjectiveOptions.LossAggMode"/> and normalisers.
/// </summary>
public static class PolicyObjective
{
    /// <summary>
    /// One (micro-)batch's loss. <paramref name="normalizers"/>: the mini-batch counts under gradient accumulation
    /// (<see cref="AggregationNormalizers.FromMask"/>), null for this batch's own. <paramref name="random"/>: Clip-Cov's
    /// sampler (seed it for reproducible runs; null uses <see cref="Random.Shared"/>).
    /// </summary>
    public static ObjectiveResult Compute(
        ObjectiveOptions options,
        ObjectiveInput input,
        AggregationNormalizers? normalizers = null,
        Random? random = null)
    {
        options.Validate();
        var mask = input.ResponseMask;
        var pg = PolicyLosses.Compute(
            options.PolicyLoss,
            new PolicyLossInput(input.LogProb, input.OldLogProb, input.Advantages, mask)
            {
                RolloutWeights = input.RolloutWeights,
                CovSelection = input.CovSelection,
                ProxLogProb = input.ProxLogProb,
            },
            options,
            random);
        var pgLoss = Aggregate(pg.LossMatrix, mask, options, normalizers);        // []
        var total = pgLoss;                                                      // []

        Tensor? klLoss = null;
        if (options.UseKlLoss)
        {
            var reference = input.RefLogProb
                ?? throw new ArgumentException("UseKlLoss is on but no reference log-probs were given.", nameof(input));
            var kl = KlPenalties.Compute(options.KlLossType, input.LogProb, reference); // [batch, seq]
            klLoss = Aggregate(kl, mask, options, normalizers);                   // []
            total = total + (klLoss * options.KlLossCoef);                        // []
        }

        Tensor? entropyLoss = null;
        if (input.Entropy is { } entropy)
        {
            entropyLoss = Aggregate(entropy, mask, options, normalizers);         // []
            if (options.EntropyCoeff != 0)
            {
                total = total - (entropyLoss * options.EntropyCoeff);             // []
            }
        }
        else if (options.EntropyCoeff != 0)
        {
            throw new ArgumentException("EntropyCoeff ≠ 0 but no entropy tensor was given.", nameof(input));
        }

        var metrics = new Dictionary<string, double>
        {
            ["loss/total"] = total.detach().item<float>(),
            ["loss/pg"] = pgLoss.detach().item<float>(),
            ["loss/pg_clipfrac"] = pg.Metrics.PgClipFrac,
            ["loss/ppo_kl"] = pg.Metrics.PpoKl,
            ["loss/pg_clipfrac_lower"] = pg.Metrics.PgClipFracLower,
        };
        if (pg.Metrics.RejectedFrac is { } rejected)
        {
            metrics["loss/rejected_frac"] = rejected;
        }
        if (pg.Metrics.BehaviourWeightMean is { } weight)
        {
            metrics["loss/behav_weight_mean"] = weight;
        }
        if (klLoss is not null)
        {
            metrics["loss/kl"] = klLoss.detach().item<float>();
        }
        if (entropyLoss is not null)
        {
            metrics["loss/entropy"] = entropyLoss.detach().item<float>();
        }
        return new ObjectiveResult(total, pgLoss, klLoss, entropyLoss, metrics);
    }

    private static Tensor Aggregate(Tensor matrix, Tensor mask, ObjectiveOptions options, AggregationNormalizers? normalizers) =>
        LossAggregation.Aggregate(matrix, mask, options.LossAggMode, normalizers, options.LossScaleFactor);
}
