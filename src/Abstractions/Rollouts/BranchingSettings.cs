namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// Entropy-triggered branching rollouts (ARPO / AEPO, docs/ALGORITHMS.md §1–2) as run configuration: a serializable mirror of
/// <c>AgentRl.Policy.Branching.BranchingOptions</c>. M (the budget) is the run's group size. Null names take the
/// algorithm's preset from the algorithm registry (<c>AgentRl.Policy.Algorithms.AlgorithmRegistry</c>): <c>arpo</c> = fork
/// rule <c>arpo</c> + allocator <c>fixed</c>; <c>aepo</c> = fork rule <c>aepo</c> + allocator <c>aepo-premonitor</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.branching-settings.v1")]
public sealed record BranchingSettings
{
    /// <summary>N: trajectories started from the prompt (allocator <c>fixed</c>); null = M/2 (reference 8 of 16), at least 1.</summary>
    [Id(0)] public int? InitialTrajectories { get; init; }

    /// <summary>Z: children per granted fork (reference beam 2, so 1). Default 1.</summary>
    [Id(1)] public int ChildrenPerFork { get; init; } = 1;

    /// <summary>k: generated tokens after a tool result (or the prompt) whose entropy is measured. Default 20.</summary>
    [Id(2)] public int EntropyPositions { get; init; } = 20;

    /// <summary>
    /// Segment entropy estimator: <c>mean-full-vocab</c> (default: mean full-vocabulary entropy of the k tokens) or
    /// <c>topk-summed-normalized</c> (the reference code's, for parity: rollouts ask for the top 10 logprobs per token and
    /// the segment entropy is Σ over the k positions of −Σ e^ℓ·ℓ, divided by ln|V|).
    /// </summary>
    [Id(3)] public string EntropyEstimator { get; init; } = "mean-full-vocab";

    /// <summary>Fork rule: <c>arpo</c>, <c>arpo-threshold</c>, <c>aepo</c>, <c>none</c>; null = the algorithm's preset.</summary>
    [Id(4)] public string? BranchPolicy { get; init; }

    /// <summary>Initial split: <c>fixed</c> or <c>aepo-premonitor</c>; null = the algorithm's preset.</summary>
    [Id(5)] public string? BudgetAllocator { get; init; }

    /// <summary>Advantage attribution on the tree: <c>soft</c> (default, the reference's) or <c>hard</c> (the paper's shared-token mean).</summary>
    [Id(6)] public string Attribution { get; init; } = "soft";

    /// <summary>α: base branch probability (<c>branch_probability</c>). Default 0.5.</summary>
    [Id(7)] public double Alpha { get; init; } = 0.5;

    /// <summary>β: entropy weight (<c>entropy_weight</c>). Default 0.2.</summary>
    [Id(8)] public double Beta { get; init; } = 0.2;

    /// <summary>τ: threshold of <c>arpo-threshold</c> and <c>aepo</c>. Default 0.5.</summary>
    [Id(9)] public double Tau { get; init; } = 0.5;

    /// <summary>AEPO consecutive-branch penalty per round. Default 0.05.</summary>
    [Id(10)] public double ConsecutiveBranchPenalty { get; init; } = 0.05;

    /// <summary>β of the AEPO pre-monitoring sigmoid. Default 0.5.</summary>
    [Id(11)] public double PreMonitorBeta { get; init; } = 0.5;

    /// <summary>Grant competing forks of a round by ΔH, highest first (reference: creation order). Default true.</summary>
    [Id(12)] public bool RankForksByEntropy { get; init; } = true;

    /// <summary>Top-ups per round once every path has ended with budget left; 0 = all at once (default; reference 1).</summary>
    [Id(13)] public int TopUpsPerRound { get; init; }

    /// <summary>Problems with the fields (names as in the JSON configuration).</summary>
    public IEnumerable<string> Validate(int groupSize)
    {
        if (InitialTrajectories is { } n && (n < 1 || n > groupSize)) yield return "branching.initialTrajectories must be in [1, groupSize]";
        if (ChildrenPerFork < 1) yield return "branching.childrenPerFork must be ≥ 1";
        if (EntropyPositions < 1) yield return "branching.entropyPositions must be ≥ 1";
        if (EntropyEstimator is not ("mean-full-vocab" or "topk-summed-normalized")) yield return "branching.entropyEstimator must be mean-full-vocab or topk-summed-normalized";
        if (BranchPolicy is not (null or "arpo" or "arpo-threshold" or "aepo" or "none")) yield return "branching.branchPolicy must be arpo, arpo-threshold, aepo or none";
        if (BudgetAllocator is not (null or "fixed" or "aepo-premonitor")) yield return "branching.budgetAllocator must be fixed or aepo-premonitor";
        if (Attribution is not ("soft" or "hard")) yield return "branching.attribution must be soft or hard";
        if (ConsecutiveBranchPenalty < 0) yield return "branching.consecutiveBranchPenalty must be ≥ 0";
        if (TopUpsPerRound < 0) yield return "branching.topUpsPerRound must be ≥ 0";
    }
}
