using AgentRl.Abstractions.Configuration;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Training;

/// <summary>Shape of the learning rate after warm-up.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>The peak learning rate for every step after warm-up.</summary>
    Constant,

    /// <summary>Half a cosine from the peak down to <see cref="TrainerOptions.MinLearningRateRatio"/>·peak at <see cref="TrainerOptions.TotalSteps"/>.</summary>
    Cosine,
}

/// <summary>
/// Every knob of <see cref="PolicyTrainer"/> with its documented default. The objective comes from
/// <see cref="Algorithm"/> through the <see cref="AlgorithmRegistry"/> unless <see cref="Objective"/> is given. A run sets
/// any scalar field with <c>--set trainer.NAME=VALUE</c>, except those the run configuration holds itself
/// (<see cref="RunLevelFields"/>).
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>
    /// Peak learning rate of AdamW. Default 1e-5, a real-model value (ARPO/AEPO scripts use 1e-6, AReaL 2e-5); a
    /// randomly initialised tiny model needs about 1e-3 to move within a few steps.
    /// </summary>
    public double LearningRate { get; init; } = 1e-5;

    /// <summary>Decoupled weight decay of AdamW. Default 0.01; applied to matrices only (not to norms or biases, see <see cref="DecayAllParameters"/>).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Apply weight decay to every parameter, as <c>torch.optim.AdamW</c> does by default. Default false (matrices only).</summary>
    public bool DecayAllParameters { get; init; }

    /// <summary>β1 of AdamW. Default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>β2 of AdamW. Default 0.999 (torch default; verl's FSDP actor uses the same).</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>ε of AdamW, added to √v̂. Default 1e-8.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Linear warm-up from 0 to the peak over this many optimizer steps. Default 0.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Schedule after warm-up. Default <see cref="LearningRateScheduleKind.Constant"/> (verl's default).</summary>
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.Constant;

    /// <summary>Optimizer steps the cosine schedule spans (steps beyond stay at the floor). Default 1000; unused by Constant.</summary>
    public int TotalSteps { get; init; } = 1000;

    /// <summary>Cosine floor as a fraction of the peak. Default 0.</summary>
    public double MinLearningRateRatio { get; init; }

    /// <summary>Gradient norm clipping (global L2 norm over all parameters); ≤ 0 disables. Default 1.0 (verl <c>grad_clip</c>).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Most padded tokens (rows × longest row) per micro-batch; gradients accumulate across micro-batches. Default 4096.</summary>
    public int TokenBudget { get; init; } = 4096;

    /// <summary>
    /// How a supervised (warm-start) step cuts its batch: the fixed cost of one micro-batch, in tokens' worth of work,
    /// that <see cref="TokenBudgetBatcher.PackByCost"/> weighs against padding. Default 64: a batch of 100-token
    /// demonstrations and 14-token echo examples becomes two micro-batches instead of one padded to 100 (1.6× faster on
    /// the main job's SFT batches, <c>agentrl-bench sft --packing both</c>). 0 packs each step's batch into as few
    /// micro-batches as the budget allows (<see cref="TokenBudgetBatcher.Pack"/>), as RL updates always do: their
    /// per-micro-batch statistics (AEPO's entropy advantage, Clip-Cov, KL-Cov) depend on the cut.
    /// </summary>
    public int SftMicroBatchOverheadTokens { get; init; } = 64;

    /// <summary>
    /// Compute each rollout tree's shared prefixes once (<see cref="PrefixPacking"/>): a trajectory and the forks of it in
    /// the same mini-batch are forwarded as one packed row. Same losses and gradients up to float rounding. Default true.
    /// </summary>
    public bool DeduplicatePrefixes { get; init; } = true;

    /// <summary>Passes over each batch [<c>ppo_epochs</c>]. Default 1.</summary>
    public int PpoEpochs { get; init; } = 1;

    /// <summary>
    /// Optimizer steps per pass: the batch is split into this many mini-batches [batch / <c>ppo_mini_batch_size</c>].
    /// Default 1 (the whole batch is one mini-batch: on-policy, ratio 1, but still the clipped objective).
    /// </summary>
    public int MiniBatches { get; init; } = 1;

    /// <summary>Algorithm name in the <see cref="AlgorithmRegistry"/> whose objective applies when <see cref="Objective"/> is null. Default <c>grpo</c>.</summary>
    public string Algorithm { get; init; } = "grpo";

    /// <summary>Explicit objective; overrides the <see cref="Algorithm"/> preset when set. Default null.</summary>
    public ObjectiveOptions? Objective { get; init; }

    /// <summary>
    /// Keep a frozen copy of the initial weights as the reference policy for the KL loss. Default null: a reference
    /// is kept exactly when the objective needs one: <see cref="ObjectiveOptions.UseKlLoss"/> or
    /// <see cref="ObjectiveOptions.UseKlInReward"/>.
    /// </summary>
    public bool? KeepReferenceModel { get; init; }

    /// <summary>Seed of the trainer's own randomness (mini-batch shuffling, Clip-Cov); step k uses seed + k, so a resumed run repeats it. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The fields a run configuration sets itself, with the run field that holds each: <c>--set trainer.learningRate</c> is
    /// refused with a pointer to <c>learningRate</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> RunLevelFields { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(LearningRate)] = "learningRate",
        [nameof(TokenBudget)] = "tokenBudget",
        [nameof(TotalSteps)] = "steps",
        [nameof(Seed)] = "seed",
        [nameof(Algorithm)] = "algorithm",
    };

    /// <summary>The objective in force: <see cref="Objective"/> or the <see cref="Algorithm"/> preset.</summary>
    public ObjectiveOptions ResolveObjective() => Objective ?? AlgorithmRegistry.Objective(Algorithm);

    /// <summary>Every problem with the fields (the one validation style, <see cref="OptionChecks"/>), the objective's included.</summary>
    public IEnumerable<string> Problems()
    {
        var check = new OptionChecks();
        check.AtLeast(nameof(LearningRate), LearningRate, 0);
        check.AtLeast(nameof(WeightDecay), WeightDecay, 0);
        check.HalfOpen(nameof(Beta1), Beta1, 0, 1);
        check.HalfOpen(nameof(Beta2), Beta2, 0, 1);
        check.Positive(nameof(Epsilon), Epsilon);
        check.AtLeast(nameof(WarmupSteps), WarmupSteps, 0);
        check.AtLeast(nameof(TotalSteps), TotalSteps, 1);
        check.Between(nameof(MinLearningRateRatio), MinLearningRateRatio, 0, 1);
        check.Finite(nameof(MaxGradNorm), MaxGradNorm);
        check.AtLeast(nameof(TokenBudget), TokenBudget, 1);
        check.AtLeast(nameof(SftMicroBatchOverheadTokens), SftMicroBatchOverheadTokens, 0);
        check.AtLeast(nameof(PpoEpochs), PpoEpochs, 1);
        check.AtLeast(nameof(MiniBatches), MiniBatches, 1);
        if (AlgorithmRegistry.TryGet(Algorithm) is null && Objective is null)
        {
            check.Add($"algorithm '{Algorithm}' is unknown (known: {string.Join(", ", AlgorithmRegistry.Names)})");
        }
        foreach (var problem in check.Problems)
        {
            yield return problem;
        }
        if (Objective is not null || AlgorithmRegistry.TryGet(Algorithm) is not null)
        {
            foreach (var problem in ResolveObjective().Problems())
            {
                yield return "objective." + problem;
            }
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every <see cref="Problems"/>; returns this for chaining.</summary>
    public TrainerOptions Validate() => OptionChecks.ThrowIfAny(this, Problems(), "trainer");
}

/// <summary>Learning rate by optimizer step: linear warm-up, then constant or cosine.</summary>
public static class LearningRateSchedule
{
    /// <summary>
    /// The rate for optimizer step <paramref name="step"/> (0-based, the step about to be taken):
    /// <c>peak·(step + 1)/warmup</c> while <c>step &lt; warmup</c>; then the peak (constant), or
    /// <c>floor + (peak − floor)·½(1 + cos(π·p))</c> with <c>p = (step − warmup)/(total − warmup)</c> clamped to [0, 1] (cosine).
    /// </summary>
    public static double At(TrainerOptions options, long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var peak = options.LearningRate;
        if (step < options.WarmupSteps)
        {
            return peak * (step + 1) / options.WarmupSteps;
        }
        if (options.Schedule == LearningRateScheduleKind.Constant)
        {
            return peak;
        }
        var floor = peak * options.MinLearningRateRatio;
        var span = Math.Max(1, options.TotalSteps - options.WarmupSteps);
        var progress = Math.Clamp((double)(step - options.WarmupSteps) / span, 0.0, 1.0);
        return floor + ((peak - floor) * 0.5 * (1.0 + Math.Cos(Math.PI * progress)));
    }
}
