namespace AgentRl.Policy.Objectives;

/// <summary>Outcome of the DAPO group filter.</summary>
/// <param name="KeptIndices">Trajectory indices kept, in input order.</param>
/// <param name="KeptGroups">Groups kept (spread &gt; 0, or a single member).</param>
/// <param name="DroppedGroups">Groups dropped (every member has the same metric).</param>
/// <param name="DroppedTrajectories">Trajectories in the dropped groups.</param>
public sealed record GroupFilterResult(int[] KeptIndices, int KeptGroups, int DroppedGroups, int DroppedTrajectories)
{
    public int KeptTrajectories => KeptIndices.Length;
}

/// <summary>DAPO dynamic sampling (docs/ALGORITHMS.md §3.2, verl <c>algorithm.filter_groups</c>).</summary>
public static class DynamicSampling
{
    /// <summary>
    /// Keeps a group iff its metric (acc, score, seq_reward…) has population std &gt; 0 or it has one member. The test
    /// is written as max ≠ min, which is the same condition without the rounding of a computed std (a group of equal
    /// values such as 0.1, 0.1, 0.1 can give a std of ~1e-17 in floating point and would wrongly be kept).
    /// </summary>
    public static GroupFilterResult FilterGroups<TKey>(IReadOnlyList<double> metric, IReadOnlyList<TKey> groupIds)
        where TKey : notnull
    {
        var groups = AdvantageEstimators.Groups(metric, groupIds);
        var keep = new bool[metric.Count];
        int keptGroups = 0, droppedGroups = 0, droppedTrajectories = 0;
        foreach (var members in groups)
        {
            var min = members.Min(i => metric[i]);
            var max = members.Max(i => metric[i]);
            if (members.Count == 1 || max != min)
            {
                keptGroups++;
                members.ForEach(i => keep[i] = true);
            }
            else
            {
                droppedGroups++;
                droppedTrajectories += members.Count;
            }
        }
        var kept = Enumerable.Range(0, metric.Count).Where(i => keep[i]).ToArray();
        return new GroupFilterResult(kept, keptGroups, droppedGroups, droppedTrajectories);
    }

    /// <summary>
    /// The accumulation rule of verl's DAPO trainer, asked after each generation batch: true while fewer than
    /// <paramref name="trainBatchSize"/> prompts (groups) have been kept and the budget allows another generation batch;
    /// false once enough are kept (the caller then truncates to train_batch_size·n trajectories). Throws when more are
    /// needed but <paramref name="generationBatches"/> has reached <paramref name="maxNumGenBatches"/> (≤ 0: unlimited).
    /// </summary>
    public static bool NeedsAnotherGenerationBatch(int keptPrompts, int trainBatchSize, int generationBatches, int maxNumGenBatches)
    {
        if (keptPrompts >= trainBatchSize)
        {
            return false;
        }
        if (maxNumGenBatches <= 0 || generationBatches < maxNumGenBatches)
        {
            return true;
        }
        throw new InvalidOperationException(
            $"Dynamic sampling kept {keptPrompts} of {trainBatchSize} prompts after {generationBatches} generation batches " +
            $"(max_num_gen_batches = {maxNumGenBatches}); the data may be too easy or too hard.");
    }
}

/// <summary>DAPO overlong reward shaping (docs/ALGORITHMS.md §3.2, verl <c>reward_manager/dapo.py</c>).</summary>
public static class OverlongRewardShaping
{
    /// <summary>DAPO <c>max_response_length</c>: 16384 + 4096.</summary>
    public const int DapoMaxResponseLength = 20480;

    /// <summary>DAPO <c>overlong_buffer.len</c>.</summary>
    public const int DefaultBufferLength = 4096;

    /// <summary>DAPO <c>overlong_buffer.penalty_factor</c>.</summary>
    public const double DefaultPenaltyFactor = 1.0;

    /// <summary>
    /// min(−(len − L_exp)/L_buf·factor, 0) with L_exp = maxResponseLength − L_buf: 0 up to L_exp, then linear down to
    /// −factor at max length.
    /// </summary>
    public static double Penalty(
        int responseLength,
        int maxResponseLength = DapoMaxResponseLength,
        int bufferLength = DefaultBufferLength,
        double penaltyFactor = DefaultPenaltyFactor)
    {
        if (bufferLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferLength), bufferLength, "The overlong buffer must be > 0.");
        }
        var expected = maxResponseLength - bufferLength;
        var exceed = responseLength - expected;
        return Math.Min(-(double)exceed / bufferLength * penaltyFactor, 0.0);
    }

    /// <summary>scores[i] + <see cref="Penalty"/>(lengths[i]) for every trajectory.</summary>
    public static float[] Apply(
        IReadOnlyList<float> scores,
        IReadOnlyList<int> responseLengths,
        int maxResponseLength,
        int bufferLength = DefaultBufferLength,
        double penaltyFactor = DefaultPenaltyFactor)
    {
        if (scores.Count != responseLengths.Count)
        {
            throw new ArgumentException("One length per score is required.", nameof(responseLengths));
        }
        var shaped = new float[scores.Count];
        for (var i = 0; i < shaped.Length; i++)
        {
            shaped[i] = (float)(scores[i] + Penalty(responseLengths[i], maxResponseLength, bufferLength, penaltyFactor));
        }
        return shaped;
    }
}
