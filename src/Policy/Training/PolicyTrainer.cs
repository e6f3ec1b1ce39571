using System.Diagnostics;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Model;
using AgentRl.Policy.Objectives;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace AgentRl.Policy.Training;

/// <summary>
/// Trains one policy: owns the model, an <see cref="AdamW"/> optimizer and, when the KL loss needs it, a frozen copy of
/// the initial weights as the reference policy. An RL update (<see cref="TrainStep"/>) runs PpoEpochs passes over the
/// batch, each split into MiniBatches; every mini-batch is one optimizer step whose gradient is accumulated over
/// micro-batches of at most <see cref="TrainerOptions.TokenBudget"/> padded tokens with the mini-batch's global loss
/// normalisers, so the accumulated gradient equals that of the mini-batch as one batch. One dispose scope per
/// micro-batch; everything returned is managed. Not thread-safe: one caller at a time; synchronous (call it off the
/// grain scheduler, never await inside it).
/// <para>
/// Two statistics stay per micro-batch, as in the reference code: AEPO's entropy standardisation (§2.2 d) and the
/// Clip-Cov / KL-Cov token selection (§6). With one micro-batch (a token budget ≥ the padded batch) they are per mini-batch.
/// </para>
/// </summary>
public sealed class PolicyTrainer : IDisposable
{
    private readonly List<(string Name, Parameter Parameter)> _parameters;
    private readonly List<(string Name, Parameter Parameter)>? _master;
    private readonly ObjectiveOptions _objective;
    private IKlController _rewardKl;

    /// <summary>
    /// Takes ownership of <paramref name="model"/> (unfused and put in training mode). A bf16 or f16 model trains with f32
    /// master weights: <paramref name="master"/> when given (an f32 model of the same configuration on the same device,
    /// whose weights the compute model is the rounding of; this trainer owns it), else an f32 copy of the model's weights.
    /// </summary>
    public PolicyTrainer(CausalLanguageModel model, TrainerOptions? options = null, CausalLanguageModel? master = null)
    {
        Options = (options ?? new TrainerOptions()).Validate();
        Model = model;
        if (model.IsFused)
        {
            model.Unfuse();
        }
        model.train();
        _objective = Options.ResolveObjective();
        _rewardKl = _objective.CreateKlController();
        _parameters = [.. model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter))];
        if (master is not null && (master.DType != ScalarType.Float32 || master.Device.type != model.Device.type || master.Device.index != model.Device.index || master.Config != model.Config))
        {
            throw new ArgumentException($"Master weights must be f32 on the model's device ({model.Device}) with its configuration; got {master.DType} on {master.Device}.", nameof(master));
        }
        if (model.DType != ScalarType.Float32)
        {
            // Mixed precision: forward and backward run in the model's dtype, the optimizer updates an f32 copy.
            MasterModel = master ?? model.CopyTo(new ComputeTarget(model.Device.type, model.Device.index, ScalarType.Float32));
            foreach (var parameter in MasterModel.parameters())
            {
                parameter.requires_grad = true;
            }
            _master = [.. MasterModel.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter))];
            SyncComputeWeights();
        }
        else
        {
            master?.Dispose();
        }
        Optimizer = new AdamW(
            _master ?? _parameters,
            (_, parameter) => Options.DecayAllParameters || parameter.dim() >= 2,
            Options.Beta1,
            Options.Beta2,
            Options.Epsilon,
            Options.WeightDecay);
        if (Options.KeepReferenceModel ?? (_objective.UseKlLoss || _objective.UseKlInReward))
        {
            ReferenceModel = CopyFrozen(model);
        }
    }

    public TrainerOptions Options { get; }

    /// <summary>The objective in force (the algorithm preset or the explicit one).</summary>
    public ObjectiveOptions Objective => _objective;

    /// <summary>The policy being trained.</summary>
    public CausalLanguageModel Model { get; }

    /// <summary>
    /// The f32 master weights of a model that computes in bf16 or f16, or null for an f32 model. The optimizer and its
    /// moments work on these; after every step the compute weights are their rounding (<see cref="Weights"/>).
    /// </summary>
    public CausalLanguageModel? MasterModel { get; }

    /// <summary>
    /// The module that holds this trainer's weights at full precision: <see cref="MasterModel"/> when there is one, else
    /// <see cref="Model"/>. Checkpoints and trainer states are written from it and loaded into it (then
    /// <see cref="SyncComputeWeights"/>), so a bf16 trainer resumes bit-exactly and hands f32 weights to engines.
    /// </summary>
    public CausalLanguageModel Weights => MasterModel ?? Model;

    /// <summary>Frozen copy of the weights at construction (or as loaded), or null when no KL to a reference is needed.</summary>
    public CausalLanguageModel? ReferenceModel { get; private set; }

    public AdamW Optimizer { get; }

    /// <summary>Incremented by every update (RL or SFT): the version of the weights now held.</summary>
    public long PolicyVersion { get; private set; }

    /// <summary>RL updates taken; the learning rate schedule of <see cref="TrainStep"/> follows the optimizer steps they took.</summary>
    public long RlSteps { get; private set; }

    /// <summary>RL optimizer steps taken (the schedule's step index).</summary>
    public long RlOptimizerSteps { get; private set; }

    /// <summary>SFT steps taken.</summary>
    public long SftSteps { get; private set; }

    /// <summary>
    /// One RL update on a batch of examples (docs/ALGORITHMS.md §0.3–§0.5): for each epoch and mini-batch, the loss
    /// <c>pg + kl_coef·agg(kl) − entropy_coeff·agg(H)</c> is back-propagated micro-batch by micro-batch, the gradient
    /// norm clipped, and AdamW stepped with the scheduled learning rate. The policy version is incremented once.
    /// Decoupled PPO (§5.2) with <see cref="ProxLogprobMethod.Recompute"/> first scores the batch under the weights before
    /// the update (<see cref="TokenLogProbs"/>): that π_prox serves every epoch and mini-batch.
    /// </summary>
    public TrainStepMetrics TrainStep(IReadOnlyList<TrainingExample> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("A training step needs at least one example.", nameof(batch));
        }
        foreach (var example in batch)
        {
            example.Validate();
        }

        var watch = Stopwatch.StartNew();
        var decoupled = _objective.PolicyLoss == PolicyLossKind.DecoupledPpo;
        float[][]? proxLogProbs = null;
        double? behaviourKl = null;
        if (decoupled && _objective.ProxLogprobs == ProxLogprobMethod.Recompute)
        {
            proxLogProbs = TokenLogProbs(batch);
            behaviourKl = BehaviourKl(batch, proxLogProbs);
        }
        else if (decoupled)
        {
            RequireVersions(batch);
        }

        var random = new Random(unchecked(Options.Seed + (int)RlSteps));
        var sums = new MetricSums();
        var steps = 0;
        double lastLr = 0;
        for (var epoch = 0; epoch < Options.PpoEpochs; epoch++)
        {
            foreach (var miniBatch in SplitMiniBatches(batch.Count, random))
            {
                var examples = miniBatch.Select(i => batch[i]).ToArray();
                var parts = ComputeGradients(examples, random, proxLogProbs is null ? null : [.. miniBatch.Select(i => proxLogProbs[i])]);
                behaviourKl ??= parts.BehaviourKl;   // the first pass runs before any optimizer step: π_θ is still π_prox
                var gradNorm = ClipGradients();
                lastLr = LearningRateSchedule.At(Options, RlOptimizerSteps);
                if (double.IsFinite(gradNorm))
                {
                    OptimizerStep(lastLr);
                    RlOptimizerSteps++;
                    steps++;
                }
                ZeroGradients();
                sums.Add(parts, gradNorm);
            }
        }

        RlSteps++;
        PolicyVersion++;
        watch.Stop();
        var passes = sums.Count;
        var tokens = (long)Options.PpoEpochs * batch.Sum(e => (long)e.TokenIds.Length);
        return new TrainStepMetrics
        {
            PolicyVersion = PolicyVersion,
            Loss = sums.Loss / passes,
            PolicyLoss = sums.PolicyLoss / passes,
            KlLoss = _objective.UseKlLoss ? sums.KlLoss / passes : null,
            EntropyLoss = sums.EntropyLoss / passes,
            PgClipFrac = sums.PgClipFrac / passes,
            PgClipFracLower = sums.PgClipFracLower / passes,
            PpoKl = sums.PpoKl / passes,
            ReferenceKl = ReferenceModel is null ? null : sums.ReferenceKl / passes,
            BehaviourProxKl = behaviourKl,
            RejectedFrac = decoupled ? sums.RejectedFrac / passes : null,
            BehaviourWeightMean = decoupled ? sums.BehaviourWeightMean / passes : null,
            MeanEntropy = sums.MeanEntropy / passes,
            GradNorm = sums.GradNorm / passes,
            LearningRate = lastLr,
            OptimizerSteps = steps,
            TokensTrained = tokens,
            ForwardTokens = sums.ForwardTokens,
            LossTokens = batch.Sum(e => (long)e.TrainableTokenCount),
            TokensPerSecond = tokens / Math.Max(watch.Elapsed.TotalSeconds, 1e-9),
            Seconds = watch.Elapsed.TotalSeconds,
        };
    }

    /// <summary>
    /// Zeroes the gradients and accumulates the gradient of one mini-batch's loss into the parameters' <c>.grad</c>,
    /// micro-batch by micro-batch with the mini-batch's global normalisers; no optimizer step. Returns the loss parts.
    /// <paramref name="proxLogProbs"/>: decoupled PPO's logπ_prox per example in the layout of
    /// <see cref="TrainingExample.OldLogProbs"/>; null scores them here under the current weights (recompute) or
    /// approximates them from <see cref="TrainingExample.TokenVersions"/> (loglinear). Other losses ignore it.
    /// </summary>
    public MiniBatchLoss ComputeGradients(IReadOnlyList<TrainingExample> miniBatch, Random? random = null, IReadOnlyList<float[]>? proxLogProbs = null)
    {
        ArgumentNullException.ThrowIfNull(miniBatch);
        if (miniBatch.Count == 0)
        {
            throw new ArgumentException("A mini-batch needs at least one example.", nameof(miniBatch));
        }
        foreach (var example in miniBatch)
        {
            example.Validate();
        }
        var decoupled = _objective.PolicyLoss == PolicyLossKind.DecoupledPpo;
        var recompute = decoupled && _objective.ProxLogprobs == ProxLogprobMethod.Recompute;
        if (recompute)
        {
            proxLogProbs ??= TokenLogProbs(miniBatch);
            if (proxLogProbs.Count != miniBatch.Count || proxLogProbs.Where((p, i) => p.Length != miniBatch[i].TokenIds.Length).Any())
            {
                throw new ArgumentException("Every example needs one row of proximal log-probs of its token count.", nameof(proxLogProbs));
            }
        }
        else if (decoupled)
        {
            RequireVersions(miniBatch);
        }
        ZeroGradients();
        var sequences = miniBatch.Select(e => new TrainingSequence(e.TokenIds, ToFloats(e.LossMask))).ToArray();
        var (tokenCount, sequenceCount) = CountValid(miniBatch.Select(e => e.LossMask));
        var normalizers = new AggregationNormalizers { TokenCount = tokenCount, SequenceCount = sequenceCount };
        var width = miniBatch.Max(e => e.TokenIds.Length) - 1;
        var objective = _objective with { LossScaleFactor = _objective.LossScaleFactor ?? width };
        var validTokens = Math.Max(tokenCount, 1);
        var result = new MiniBatchLoss();
        foreach (var (indices, families) in MicroBatches(miniBatch, sequences))
        {
            using var scope = NewDisposeScope();
            using var micro = MicroBatch.Create(sequences, indices, Model.Device);
            var rows = indices.Length;
            var columns = (int)micro.Columns;
            using var packed = families is null ? null : PrefixPacking.Create(miniBatch, families, indices, columns, Model.Device);
            result.ForwardTokens += packed?.ForwardTokens ?? (long)rows * (columns + 1);
            var mask = micro.LossMask;                                                              // [rows, cols]
            var oldLogProbs = ShiftedRows(indices, columns, i => miniBatch[i].OldLogProbs);        // [rows, cols]
            var advantages = Advantages(miniBatch, indices, columns, mask);                        // [rows, cols]
            var weights = miniBatch.Any(e => e.TokenWeights is not null)
                ? ShiftedRows(indices, columns, i => miniBatch[i].TokenWeights, fill: 1f)          // [rows, cols]
                : null;

            var scores = packed is null ? PolicyForward.Score(Model, micro, withEntropy: true) : PolicyForward.ScorePacked(Model, packed, micro.Targets, withEntropy: true);
            var logProbs = scores.LogProbs;                                                         // [rows, cols]
            var entropy = scores.Entropies!;                                                        // [rows, cols]
            var entropyInLoss = _objective.EntropyCoeff != 0 ? entropy : entropy.detach();          // [rows, cols]
            var microValid = mask.sum().item<float>();

            if (objective.EntropyAdvantageAlpha != 0)
            {
                // AEPO's entropy-aware advantage (§2.2 d), from the entropies of this forward pass.
                advantages = AepoObjective.EntropyAwareAdvantages(advantages, entropy, mask, objective.EntropyAdvantageAlpha); // [rows, cols]
            }
            Tensor? prox = null;                                                                    // [rows, cols]
            if (recompute)
            {
                prox = ShiftedRows(indices, columns, i => proxLogProbs![i]);                       // [rows, cols]
            }
            else if (decoupled)
            {
                var alpha = ShiftedRows(indices, columns, i => DecoupledImportance.LoglinearAlpha(miniBatch[i].TokenVersions!, PolicyVersion)); // [rows, cols]
                prox = DecoupledImportance.LoglinearProxLogProb(logProbs, oldLogProbs, alpha);     // [rows, cols]
            }
            var pg = PolicyLosses.Compute(
                objective.PolicyLoss,
                new PolicyLossInput(logProbs, oldLogProbs, advantages, mask) { RolloutWeights = weights, ProxLogProb = prox },
                objective,
                random);
            var lossMatrix = pg.LossMatrix;                                                         // [rows, cols]
            var (clipFrac, clipFracLower, ppoKl) = (pg.Metrics.PgClipFrac, pg.Metrics.PgClipFracLower, pg.Metrics.PpoKl);

            var pgLoss = Aggregate(lossMatrix, mask, objective, normalizers);                      // []
            var total = pgLoss;                                                                     // []
            Tensor? klLoss = null;
            if (ReferenceModel is not null)
            {
                Tensor refLogProbs;                                                                 // [rows, cols]
                using (no_grad())
                {
                    refLogProbs = (packed is null ? PolicyForward.Score(ReferenceModel, micro, withEntropy: false) : PolicyForward.ScorePacked(ReferenceModel, packed, micro.Targets, withEntropy: false)).LogProbs;
                }
                if (objective.UseKlLoss)
                {
                    var kl = KlPenalties.Compute(objective.KlLossType, logProbs, refLogProbs);     // [rows, cols]
                    klLoss = Aggregate(kl, mask, objective, normalizers);                           // []
                    total = total + (klLoss * objective.KlLossCoef);                                // []
                }
                var k3 = KlPenalties.K3(logProbs.detach(), refLogProbs);                            // [rows, cols]
                result.ReferenceKl += (k3 * mask).sum().item<float>() / validTokens;
            }
            var entropyLoss = Aggregate(entropyInLoss, mask, objective, normalizers);              // []
            if (objective.EntropyCoeff != 0)
            {
                total = total - (entropyLoss * objective.EntropyCoeff);                             // []
            }

            total.backward();
            result.Loss += total.item<float>();
            result.PolicyLoss += pgLoss.item<float>();
            result.KlLoss += klLoss?.item<float>() ?? 0;
            result.EntropyLoss += entropyLoss.item<float>();
            result.MeanEntropy += (entropy.detach() * mask).sum().item<float>() / validTokens;
            result.PgClipFrac += clipFrac * microValid / validTokens;
            result.PgClipFracLower += clipFracLower * microValid / validTokens;
            result.PpoKl += ppoKl * microValid / validTokens;
            result.RejectedFrac += (pg.Metrics.RejectedFrac ?? 0) * microValid / validTokens;
            result.BehaviourWeightMean += (pg.Metrics.BehaviourWeightMean ?? 0) * microValid / validTokens;
            var mismatch = KlPenalties.K3(oldLogProbs, logProbs.detach());                         // [rows, cols]
            result.BehaviourKl += (mismatch * mask).sum().item<float>() / validTokens;
        }
        return result;
    }

    /// <summary>The KL coefficient β of the reward penalty now (<see cref="ObjectiveOptions.UseKlInReward"/>).</summary>
    public double RewardKlCoef => _rewardKl.Value;

    /// <summary>
    /// KL in the reward (docs/ALGORITHMS.md §0.5, verl <c>apply_kl_penalty</c>): for each sequence, with the current β,
    /// penalty = β·Σ_t m_t·kl_t(logπ_old, logπ_ref) — the amount an outcome-reward advantage subtracts from its score, since
    /// it sums the token rewards r_tok = score_tok − β·kl_t. Then the controller is updated with the batch mean of the
    /// per-sequence token-mean KL (n_steps = the batch size). Needs the reference model (kept when the objective asks for
    /// KL in the reward).
    /// </summary>
    public RewardKlResult RewardKlPenalties(IReadOnlyList<TrainingExample> batch) => RewardKlPenalties(batch, updateController: true);

    /// <summary>
    /// <see cref="RewardKlPenalties(IReadOnlyList{TrainingExample})"/>, updating the controller only when
    /// <paramref name="updateController"/>: a step whose batch is shaped in parts (a swarm step's own, fill and external
    /// groups) computes every part with the same β and then updates the controller once (<see cref="UpdateRewardKl"/>).
    /// </summary>
    public RewardKlResult RewardKlPenalties(IReadOnlyList<TrainingExample> batch, bool updateController)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var reference = ReferenceModel ?? throw new InvalidOperationException("KL in the reward needs the reference model (ObjectiveOptions.UseKlInReward or KeepReferenceModel).");
        foreach (var example in batch)
        {
            example.Validate();
        }
        var beta = _rewardKl.Value;
        var sums = new double[batch.Count];
        var means = new double[batch.Count];
        var sequences = batch.Select(e => new TrainingSequence(e.TokenIds, ToFloats(e.LossMask))).ToArray();
        using var noGrad = no_grad();
        foreach (var indices in TokenBudgetBatcher.Pack(sequences.Select(q => q.TokenIds.Count).ToArray(), Options.TokenBudget))
        {
            using var scope = NewDisposeScope();
            using var micro = MicroBatch.Create(sequences, indices, Model.Device);
            var columns = (int)micro.Columns;
            var mask = micro.LossMask;                                                              // [rows, cols]
            var oldLogProbs = ShiftedRows(indices, columns, i => batch[i].OldLogProbs);            // [rows, cols]
            var refLogProbs = PolicyForward.Score(reference, micro, withEntropy: false).LogProbs;   // [rows, cols]
            var kl = KlPenalties.Compute(_objective.KlInRewardType, oldLogProbs, refLogProbs) * mask; // [rows, cols]
            using var perRow = kl.sum(1).to_type(ScalarType.Float64).cpu();                         // [rows]
            using var counts = mask.sum(1).to_type(ScalarType.Float64).cpu();                      // [rows]
            var rowSums = perRow.data<double>().ToArray();
            var rowCounts = counts.data<double>().ToArray();
            for (var r = 0; r < indices.Length; r++)
            {
                sums[indices[r]] = rowSums[r];
                means[indices[r]] = rowSums[r] / (rowCounts[r] + 1e-8);
            }
        }
        var currentKl = batch.Count == 0 ? 0 : means.Average();
        if (updateController)
        {
            _rewardKl.Update(currentKl, batch.Count);
        }

        return new RewardKlResult([.. sums.Select(kl => beta * kl)], currentKl, beta);
    }

    /// <summary>
    /// One update of the KL-in-reward controller (verl <c>kl_ctrl.update(current_kl, n_steps)</c>): <paramref name="currentKl"/>
    /// the mean over <paramref name="sequences"/> sequences of their token-mean KL(old, ref). Returns β after the update.
    /// </summary>
    public double UpdateRewardKl(double currentKl, int sequences)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequences);
        if (!double.IsFinite(currentKl))
        {
            throw new ArgumentOutOfRangeException(nameof(currentKl), currentKl, "The KL must be finite.");
        }

        _rewardKl.Update(currentKl, sequences);
        return _rewardKl.Value;
    }

    /// <summary>
    /// logπ(token t | tokens &lt; t) under the current weights for every mask-1 token of each sequence (0 elsewhere and at
    /// position 0), in the layout of <see cref="TrainingExample.OldLogProbs"/>: what a swarm receiver uses as the old
    /// logprobs of an external completion (SAPO: the current policy, detached). No gradient; micro-batches within the
    /// token budget.
    /// </summary>
    public float[][] TokenLogProbs(IReadOnlyList<TrainingExample> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var example in batch)
        {
            example.Validate();
        }

        var scores = PolicyForward.ScoreToArrays(Model, [.. batch.Select(e => new TrainingSequence(e.TokenIds))], Options.TokenBudget);
        return [.. batch.Select((example, i) => Enumerable.Range(0, example.TokenIds.Length)
            .Select(t => t > 0 && example.LossMask[t] != 0 ? scores[i].LogProbs[t - 1] : 0f)   // LogProbs[t - 1] scores token t
            .ToArray())];
    }

    /// <summary>
    /// The micro-batches of a mini-batch within the token budget: plain rows, or — when some examples continue others of
    /// the mini-batch and <see cref="TrainerOptions.DeduplicatePrefixes"/> is on — whole families packed one per row
    /// (the budget counts packed tokens), their examples listed family by family.
    /// </summary>
    private IEnumerable<(int[] Indices, int[][]? Families)> MicroBatches(IReadOnlyList<TrainingExample> miniBatch, TrainingSequence[] sequences)
    {
        var families = Options.DeduplicatePrefixes ? PrefixPacking.Families(miniBatch) : null;
        if (families is null || !PrefixPacking.HasSharedPrefixes(families))
        {
            return TokenBudgetBatcher.Pack(sequences.Select(s => s.TokenIds.Count).ToArray(), Options.TokenBudget).Select(indices => (indices, (int[][]?)null));
        }

        var packedLengths = families.Select(f => PrefixPacking.PackedLength(miniBatch, f)).ToArray();
        return TokenBudgetBatcher.Pack(packedLengths, Options.TokenBudget).Select(units =>
        {
            var chosen = units.Select(u => families[u]).ToArray();
            return (chosen.SelectMany(f => f).ToArray(), (int[][]?)chosen);
        });
    }

    /// <summary>
    /// One supervised step: mean cross-entropy over the mask-1 tokens of the whole batch (token-mean, accumulated over
    /// micro-batches with the global token count; micro-batches cut by <see cref="TokenBudgetBatcher.PackByCost"/> at
    /// <see cref="TrainerOptions.SftMicroBatchOverheadTokens"/>), gradient clipping, AdamW at <paramref name="learningRate"/>.
    /// </summary>
    public SftStepMetrics SftStep(IReadOnlyList<SftExample> batch, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("An SFT step needs at least one example.", nameof(batch));
        }
        var watch = Stopwatch.StartNew();
        ZeroGradients();
        var sequences = batch.Select(e => new TrainingSequence(e.TokenIds, ToFloats(e.LossMask))).ToArray();
        if (sequences.Any(s => s.TokenIds.Count < 2 || s.LossMask!.Count != s.TokenIds.Count))
        {
            throw new ArgumentException("Every SFT example needs ≥ 2 tokens and one mask value per token.", nameof(batch));
        }
        var (tokenCount, _) = CountValid(batch.Select(e => e.LossMask));
        var validTokens = Math.Max(tokenCount, 1);
        double loss = 0;
        var lengths = sequences.Select(s => s.TokenIds.Count).ToArray();
        var microBatches = Options.SftMicroBatchOverheadTokens > 0
            ? TokenBudgetBatcher.PackByCost(lengths, Options.TokenBudget, Options.SftMicroBatchOverheadTokens)
            : TokenBudgetBatcher.Pack(lengths, Options.TokenBudget);
        foreach (var indices in microBatches)
        {
            using var scope = NewDisposeScope();
            using var micro = MicroBatch.Create(sequences, indices, Model.Device);
            var logProbs = PolicyForward.Score(Model, micro, withEntropy: false).LogProbs;          // [rows, cols]
            var nll = -(logProbs * micro.LossMask).sum() / validTokens;                             // []
            nll.backward();
            loss += nll.item<float>();
        }
        var gradNorm = ClipGradients();
        if (double.IsFinite(gradNorm))
        {
            OptimizerStep(learningRate);
        }
        ZeroGradients();
        SftSteps++;
        PolicyVersion++;
        watch.Stop();
        var tokens = batch.Sum(e => (long)e.TokenIds.Length);
        return new SftStepMetrics(
            PolicyVersion, loss, gradNorm, learningRate, tokenCount, tokens,
            tokens / Math.Max(watch.Elapsed.TotalSeconds, 1e-9), watch.Elapsed.TotalSeconds,
            microBatches.Count, microBatches.Sum(m => (long)m.Length * m.Max(i => lengths[i])));
    }

    /// <summary>
    /// Clips the global L2 norm of the gradients to <see cref="TrainerOptions.MaxGradNorm"/> (when &gt; 0) and returns
    /// the norm before clipping (NaN or ∞ when a gradient is not finite; the caller then skips the step).
    /// </summary>
    public double ClipGradients()
    {
        using var scope = NewDisposeScope();
        GradientsToMaster();
        var grads = (_master ?? _parameters).Select(p => p.Parameter.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0)
        {
            return 0;
        }
        var norm = stack(grads.Select(g => g.norm()).ToArray()).norm().item<float>();          // []
        if (Options.MaxGradNorm > 0 && double.IsFinite(norm) && norm > Options.MaxGradNorm)
        {
            var factor = Options.MaxGradNorm / (norm + 1e-6);
            using var noGrad = no_grad();
            foreach (var grad in grads)
            {
                grad.mul_(factor);
            }
        }
        return norm;
    }

    /// <summary>
    /// Detached copies of the current weights by Hugging Face name (for <c>InferenceEngine.LoadWeightsAsync</c>), at full
    /// precision (<see cref="Weights"/>) on the trainer's device; the caller disposes them. A receiver of another dtype or
    /// device converts them as it copies them in.
    /// </summary>
    public Dictionary<string, Tensor> ExportWeights()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return (_master ?? _parameters).ToDictionary(p => p.Name, p => p.Parameter.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Copies the master weights into the compute weights (rounding to the model's dtype); a no-op for an f32 model.</summary>
    public void SyncComputeWeights()
    {
        if (_master is null)
        {
            return;
        }
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            _parameters[i].Parameter.copy_(_master[i].Parameter);
        }
    }

    private void OptimizerStep(double learningRate)
    {
        Optimizer.Step(learningRate);
        SyncComputeWeights();
    }

    /// <summary>The compute weights' gradients, in f32, become the master weights' gradients (mixed precision only).</summary>
    private void GradientsToMaster()
    {
        if (_master is null)
        {
            return;
        }
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var master = _master[i].Parameter;
            if (_parameters[i].Parameter.grad is not { } grad)
            {
                master.grad?.zero_();
                continue;
            }
            if (master.grad is { } target)
            {
                target.copy_(grad);
            }
            else
            {
                master.grad = grad.to_type(ScalarType.Float32).DetachFromDisposeScope();
            }
        }
    }

    private void ZeroGradients()
    {
        using var scope = NewDisposeScope();
        Optimizer.ZeroGrad();
        if (_master is not null)
        {
            foreach (var (_, parameter) in _parameters)
            {
                parameter.grad?.zero_();
            }
        }
    }

    /// <summary>Replaces the reference policy with a frozen copy of the current weights (e.g. after SFT warm start).</summary>
    public void ResetReference()
    {
        if (ReferenceModel is null)
        {
            return;
        }
        ReferenceModel.Dispose();
        ReferenceModel = CopyFrozen(Model);
    }

    /// <summary>
    /// Moves the version counter forward to <paramref name="version"/> (never back), without changing the weights: a resumed
    /// trainer whose restored version number was already published with other weights takes a new number.
    /// </summary>
    public void AdvanceVersion(long version)
    {
        if (version > PolicyVersion)
        {
            PolicyVersion = version;
        }
    }

    /// <summary>Saves weights (<see cref="Weights"/>), optimizer state, reference weights and counters into <paramref name="directory"/> (<see cref="TrainerState"/>).</summary>
    public void Save(string directory) => TrainerState.Save(directory, this);

    /// <summary>Restores what <see cref="Save"/> wrote into this trainer (same model configuration and options).</summary>
    public void Load(string directory)
    {
        var counters = TrainerState.Load(directory, this);
        PolicyVersion = counters.PolicyVersion;
        RlSteps = counters.RlSteps;
        RlOptimizerSteps = counters.RlOptimizerSteps;
        SftSteps = counters.SftSteps;
        if (counters.RewardKlCoef is { } beta && _objective.KlCtrlAdaptive)
        {
            _rewardKl = new AdaptiveKlController(beta, _objective.KlCtrlTarget, _objective.KlCtrlHorizon);
        }
    }

    /// <summary>
    /// A trainer on <paramref name="target"/> for <paramref name="model"/>'s weights (f32, any device; this trainer takes
    /// ownership): the f32 weights become the master weights on the target device, and for a bf16 or f16 target the compute
    /// model is their rounding, so both start from the exact f32 values.
    /// </summary>
    public static PolicyTrainer Create(CausalLanguageModel model, ComputeTarget target, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        var f32 = target with { DType = ScalarType.Float32 };
        var master = model.IsOn(f32) ? model : model.MoveTo(f32);
        if (!target.IsReducedPrecision)
        {
            return new PolicyTrainer(master, options);
        }
        CausalLanguageModel? compute = null;
        try
        {
            compute = master.CopyTo(target);
            return new PolicyTrainer(compute, options, master);
        }
        catch
        {
            compute?.Dispose();
            master.Dispose();
            throw;
        }
    }

    /// <summary>A trainer whose model, optimizer, reference and counters are those saved in <paramref name="directory"/>.</summary>
    public static PolicyTrainer Resume(string directory, TrainerOptions? options = null, ComputeTarget? target = null)
    {
        var model = TrainerState.CreateModel(directory, target?.Device);
        var trainer = Create(model, target ?? new ComputeTarget(model.Device.type, model.Device.index, model.DType), options);
        try
        {
            trainer.Load(directory);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        ReferenceModel?.Dispose();
        MasterModel?.Dispose();
        Model.Dispose();
    }

    internal IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;

    private IEnumerable<int[]> SplitMiniBatches(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        if (Options.MiniBatches == 1)
        {
            yield return order;
            yield break;
        }
        random.Shuffle(order);
        var parts = Math.Min(Options.MiniBatches, count);
        for (var k = 0; k < parts; k++)
        {
            var start = k * count / parts;
            var end = (k + 1) * count / parts;
            yield return order[start..end];
        }
    }

    /// <summary>Mean k3 KL(π_behav ‖ π_prox) over the loss tokens of <paramref name="batch"/> (mismatch/kl_behav_prox).</summary>
    private double BehaviourKl(IReadOnlyList<TrainingExample> batch, IReadOnlyList<float[]> proxLogProbs)
    {
        using var scope = NewDisposeScope();
        var rows = Enumerable.Range(0, batch.Count).ToArray();
        var columns = batch.Max(e => e.TokenIds.Length) - 1;
        var behaviour = ShiftedRows(rows, columns, i => batch[i].OldLogProbs);                     // [batch, cols]
        var prox = ShiftedRows(rows, columns, i => proxLogProbs[i]);                               // [batch, cols]
        var mask = ShiftedRows(rows, columns, i => ToFloats(batch[i].LossMask));                   // [batch, cols]
        return PolicyLosses.MaskedMean(KlPenalties.K3(behaviour, prox), mask);
    }

    /// <summary>Decoupled PPO's log-linear π_prox reads per-token versions: fails before any work when an example has none.</summary>
    private static void RequireVersions(IReadOnlyList<TrainingExample> batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].TokenVersions is null)
            {
                throw new ArgumentException(
                    $"objective.proxLogprobs=loglinear needs per-token policy versions, but example {i} has no TokenVersions "
                    + "(TrainingExample.FromTrajectory sets them from Trajectory.PolicyVersions); use objective.proxLogprobs=recompute otherwise.",
                    nameof(batch));
            }
        }
    }

    private static Tensor Aggregate(Tensor matrix, Tensor mask, ObjectiveOptions objective, AggregationNormalizers normalizers) =>
        LossAggregation.Aggregate(matrix, mask, objective.LossAggMode, normalizers, objective.LossScaleFactor);

    /// <summary>[rows, cols] advantages: per-token arrays shifted to target columns, or the trajectory value on mask-1 targets.</summary>
    private Tensor Advantages(IReadOnlyList<TrainingExample> examples, int[] indices, int columns, Tensor mask)
    {
        if (indices.Any(i => examples[i].TokenAdvantages is not null))
        {
            // Rows without per-token advantages (e.g. a group without forks under hard attribution) keep their own.
            var perToken = ShiftedRows(indices, columns, i => examples[i].TokenAdvantages ?? Broadcast(examples[i]));   // [rows, cols]
            return perToken * mask;                                                                  // [rows, cols]
        }
        var column = tensor(indices.Select(i => examples[i].Advantage).ToArray(), [indices.Length, 1], device: Model.Device); // [rows, 1]
        return column * mask;                                                                        // [rows, cols]
    }

    private static float[] Broadcast(TrainingExample example)
    {
        var values = new float[example.TokenIds.Length];
        Array.Fill(values, example.Advantage);
        return values;
    }

    /// <summary>[rows, cols] f32 where row r holds <c>values[1..]</c> of example indices[r], padded with <paramref name="fill"/>.</summary>
    private Tensor ShiftedRows(int[] indices, int columns, Func<int, float[]?> values, float fill = 0f)
    {
        var data = new float[indices.Length * columns];
        if (fill != 0f)
        {
            Array.Fill(data, fill);
        }
        for (var row = 0; row < indices.Length; row++)
        {
            if (values(indices[row]) is { } source)
            {
                source.AsSpan(1).CopyTo(data.AsSpan(row * columns, source.Length - 1));
            }
        }
        return tensor(data, [indices.Length, columns], device: Model.Device);
    }

    private static float[] ToFloats(byte[] mask)
    {
        var result = new float[mask.Length];
        for (var t = 0; t < mask.Length; t++)
        {
            result[t] = mask[t] != 0 ? 1f : 0f;
        }
        return result;
    }

    /// <summary>Mask-1 tokens after position 0, and sequences with at least one.</summary>
    private static (long Tokens, long Sequences) CountValid(IEnumerable<byte[]> masks)
    {
        long tokens = 0, sequences = 0;
        foreach (var mask in masks)
        {
            var count = mask.AsSpan(1).Length - mask.AsSpan(1).Count((byte)0);
            tokens += count;
            sequences += count > 0 ? 1 : 0;
        }
        return (tokens, sequences);
    }

    private static CausalLanguageModel CopyFrozen(CausalLanguageModel model)
    {
        var copy = new CausalLanguageModel(model.Config, model.Device, model.DType);
        copy.LoadParameters(model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
        foreach (var parameter in copy.parameters())
        {
            parameter.requires_grad = false;
        }
        copy.eval();
        return copy;
    }

    private sealed class MetricSums
    {
        public int Count { get; private set; }
        public double Loss { get; private set; }
        public double PolicyLoss { get; private set; }
        public double KlLoss { get; private set; }
        public double EntropyLoss { get; private set; }
        public double PgClipFrac { get; private set; }
        public double PgClipFracLower { get; private set; }
        public double PpoKl { get; private set; }
        public double ReferenceKl { get; private set; }
        public double RejectedFrac { get; private set; }
        public double BehaviourWeightMean { get; private set; }
        public double MeanEntropy { get; private set; }
        public double GradNorm { get; private set; }
        public long ForwardTokens { get; private set; }

        public void Add(MiniBatchLoss parts, double gradNorm)
        {
            Count++;
            ForwardTokens += parts.ForwardTokens;
            Loss += parts.Loss;
            PolicyLoss += parts.PolicyLoss;
            KlLoss += parts.KlLoss;
            EntropyLoss += parts.EntropyLoss;
            PgClipFrac += parts.PgClipFrac;
            PgClipFracLower += parts.PgClipFracLower;
            PpoKl += parts.PpoKl;
            ReferenceKl += parts.ReferenceKl;
            RejectedFrac += parts.RejectedFrac;
            BehaviourWeightMean += parts.BehaviourWeightMean;
            MeanEntropy += parts.MeanEntropy;
            GradNorm += gradNorm;
        }
    }
}

/// <summary>What <see cref="PolicyTrainer.RewardKlPenalties(IReadOnlyList{TrainingExample}, bool)"/> found.</summary>
/// <param name="Penalties">β·Σ_t m_t·kl_t per sequence, to subtract from its reward.</param>
/// <param name="CurrentKl">Batch mean of the per-sequence token-mean KL (what the controller saw).</param>
/// <param name="Coef">The β applied.</param>
public sealed record RewardKlResult(double[] Penalties, double CurrentKl, double Coef);

/// <summary>Loss parts of one mini-batch (sums over its micro-batches, which add up to the mini-batch values).</summary>
public sealed class MiniBatchLoss
{
    public double Loss { get; internal set; }
    public double PolicyLoss { get; internal set; }
    public double KlLoss { get; internal set; }
    public double EntropyLoss { get; internal set; }
    public double PgClipFrac { get; internal set; }
    public double PgClipFracLower { get; internal set; }
    public double PpoKl { get; internal set; }
    public double ReferenceKl { get; internal set; }
    public double MeanEntropy { get; internal set; }

    /// <summary>Decoupled PPO: fraction of the mini-batch's loss tokens whose w was masked or clamped (0 for other losses).</summary>
    public double RejectedFrac { get; internal set; }

    /// <summary>Decoupled PPO: mean applied w = π_prox/π_behav over the loss tokens (0 for other losses).</summary>
    public double BehaviourWeightMean { get; internal set; }

    /// <summary>Mean k3 KL(π_behav ‖ π_θ) over the loss tokens, π_θ the weights this mini-batch was scored with.</summary>
    public double BehaviourKl { get; internal set; }

    /// <summary>Tokens the forward ran (padding included); below the sequences' tokens when shared prefixes were packed.</summary>
    public long ForwardTokens { get; internal set; }
}
