namespace AgentRl.Policy.Training;

/// <summary>Settings of the supervised warm start, each with its documented default.</summary>
public sealed record SftOptions
{
    /// <summary>Passes over the demonstrations. Default 3.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Demonstrations per optimizer step (the last batch of an epoch may be smaller). Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Peak learning rate. Default 1e-5 for real models; a random tiny model wants about 3e-3.</summary>
    public double LearningRate { get; init; } = 1e-5;

    /// <summary>Linear warm-up steps. Default 0.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Schedule after warm-up, over all steps of all epochs. Default <see cref="LearningRateScheduleKind.Cosine"/>.</summary>
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.Cosine;

    /// <summary>Cosine floor as a fraction of the peak. Default 0.1.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;

    /// <summary>Shuffle the demonstrations each epoch. Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffle. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Zero the AdamW moments afterwards so RL starts from a fresh optimizer. Default true.</summary>
    public bool ResetOptimizerAfter { get; init; } = true;

    /// <summary>Make the weights after SFT the KL reference (when the trainer keeps one). Default true.</summary>
    public bool ResetReferenceAfter { get; init; } = true;

    /// <summary>
    /// Stop before the first step that would start after this much wall time from the call (a time-budgeted pass; the
    /// steps done are returned). Default none: every step of every epoch.
    /// </summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>
    /// The steps the schedule's warm-up and decay are planned over. Default: every step of every epoch. With a
    /// <see cref="TimeBudget"/> the schedule follows the wall time instead: at a share f of the budget it stands where
    /// step f × PlannedSteps would, so it ends on time however fast the steps turn out to be.
    /// </summary>
    public int? PlannedSteps { get; init; }

    public SftOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(LearningRate, nameof(LearningRate));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps, nameof(WarmupSteps));
        if (PlannedSteps is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(PlannedSteps), PlannedSteps, "PlannedSteps must be at least 1.");
        }

        return this;
    }
}

/// <summary>
/// Supervised warm start: cross-entropy on the assistant tokens of demonstrations (<see cref="DemonstrationTokens"/>),
/// epochs of shuffled batches through <see cref="PolicyTrainer.SftStep"/> with warm-up and a schedule of its own.
/// </summary>
public static class SftTrainer
{
    /// <summary>Runs all epochs; returns the metrics of every step in order. <paramref name="onStep"/> sees each as it happens.</summary>
    public static IReadOnlyList<SftStepMetrics> Run(
        PolicyTrainer trainer,
        IReadOnlyList<SftExample> demonstrations,
        SftOptions? options = null,
        Action<SftStepMetrics>? onStep = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(demonstrations);
        options = (options ?? new SftOptions()).Validate();
        if (demonstrations.Count == 0)
        {
            throw new ArgumentException("SFT needs at least one demonstration.", nameof(demonstrations));
        }
        var stepsPerEpoch = (demonstrations.Count + options.BatchSize - 1) / options.BatchSize;
        var schedule = trainer.Options with
        {
            LearningRate = options.LearningRate,
            WarmupSteps = options.WarmupSteps,
            Schedule = options.Schedule,
            TotalSteps = options.PlannedSteps ?? Math.Max(1, stepsPerEpoch * options.Epochs),
            MinLearningRateRatio = options.MinLearningRateRatio,
        };
        var random = new Random(options.Seed);
        var order = Enumerable.Range(0, demonstrations.Count).ToArray();
        var metrics = new List<SftStepMetrics>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outOfTime = false;
        for (var epoch = 0; epoch < options.Epochs && !outOfTime; epoch++)
        {
            if (options.Shuffle)
            {
                random.Shuffle(order);
            }
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (options.TimeBudget is { } budget && clock.Elapsed >= budget)
                {
                    outOfTime = true;
                    break;
                }

                var batch = order.Skip(start).Take(options.BatchSize).Select(i => demonstrations[i]).ToArray();
                var step = trainer.SftStep(batch, LearningRateSchedule.At(schedule, ScheduleIndex(options, schedule.TotalSteps, metrics.Count, clock.Elapsed)));
                metrics.Add(step);
                onStep?.Invoke(step);
            }
        }
        if (options.ResetOptimizerAfter)
        {
            trainer.Optimizer.Reset();
        }
        if (options.ResetReferenceAfter)
        {
            trainer.ResetReference();
        }
        return metrics;
    }

    /// <summary>The schedule's position of a step: its index, or under a time budget the elapsed share of it in planned steps.</summary>
    internal static int ScheduleIndex(SftOptions options, int totalSteps, int step, TimeSpan elapsed) =>
        options.TimeBudget is { } budget && budget > TimeSpan.Zero
            ? (int)Math.Min(totalSteps, elapsed / budget * totalSteps)
            : step;
}
