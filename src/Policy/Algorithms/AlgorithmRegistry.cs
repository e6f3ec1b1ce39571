using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Algorithms;

/// <summary>
/// One named algorithm: its objective (advantage estimator, policy-loss kind, aggregation, KL, and how examples are
/// built — KL in the reward, DAPO's dynamic sampling and overlong shaping, AEPO's entropy-aware advantage), and, for the
/// branching algorithms, its rollout-tree preset. Every field of <see cref="Objective"/> can be overridden by a run
/// (<c>--set objective.NAME=VALUE</c>).
/// </summary>
/// <param name="Name">The name a run configuration uses (<c>algorithm</c>).</param>
/// <param name="Summary">One line for <c>--help</c> and the docs.</param>
/// <param name="Objective">The preset objective.</param>
/// <param name="BranchPolicy">Fork rule of the rollout tree, or null when the algorithm samples plain groups.</param>
/// <param name="BudgetAllocator">Initial split of the tree's budget (with <paramref name="BranchPolicy"/>).</param>
public sealed record AlgorithmEntry(string Name, string Summary, ObjectiveOptions Objective, string? BranchPolicy = null, string? BudgetAllocator = null)
{
    /// <summary>Whether the algorithm runs entropy-triggered rollout trees.</summary>
    public bool Branches => BranchPolicy is not null;

    /// <summary>A run's branching settings with this algorithm's preset filled where they are null; null when it does not branch.</summary>
    public BranchingSettings? BranchingFor(BranchingSettings settings) => Branches
        ? settings with { BranchPolicy = settings.BranchPolicy ?? BranchPolicy, BudgetAllocator = settings.BudgetAllocator ?? BudgetAllocator }
        : null;
}

/// <summary>
/// The algorithms AgentRl runs, by name (docs/ALGORITHMS.md §0–§3, §6). Every name accepted anywhere is here; adding a
/// variant is adding one entry.
/// </summary>
public static class AlgorithmRegistry
{
    private static readonly ObjectiveOptions Dapo = new()
    {
        ClipRatioLow = 0.2,
        ClipRatioHigh = 0.28,
        LossAggMode = LossAggMode.TokenMean,
        UseKlLoss = false,
        FilterGroups = true,
        MaxNumGenBatches = 10,
        OverlongBuffer = true,
    };

    /// <summary>Every algorithm, in the order the docs list them.</summary>
    public static IReadOnlyList<AlgorithmEntry> All { get; } =
    [
        new("grpo", "GRPO advantage, PPO clip 0.2/0.2 with dual clip, token-mean, k3 KL loss 0.001 (verl defaults)",
            new() { UseKlLoss = true, KlLossType = KlEstimator.K3, KlLossCoef = 0.001 }),
        new("drgrpo", "Dr.GRPO: group mean baseline without std, seq-mean-token-sum-norm, no KL",
            new() { AdvantageEstimator = AdvantageEstimator.DrGrpo, LossAggMode = LossAggMode.SeqMeanTokenSumNorm }),
        new("rloo", "RLOO leave-one-out baseline, k1 KL to the reference in the reward (fixed β 0.001), no KL loss",
            new() { AdvantageEstimator = AdvantageEstimator.Rloo, UseKlInReward = true }),
        new("reinforce++", "REINFORCE++-baseline: group mean baseline, batch whitening, k2 KL loss 0.001",
            new() { AdvantageEstimator = AdvantageEstimator.ReinforcePlusPlusBaseline, UseKlLoss = true, KlLossType = KlEstimator.K2, KlLossCoef = 0.001 }),
        new("dapo", "DAPO: clip-higher 0.2/0.28, token-mean, no KL, dynamic sampling (≤ 10 generation batches), overlong shaping",
            Dapo),
        new("gspo", "GSPO: sequence-level ratio, clip 3e-4/4e-4, seq-mean-token-mean, no KL",
            new() { PolicyLoss = PolicyLossKind.Gspo, LossAggMode = LossAggMode.SeqMeanTokenMean, ClipRatioLow = 3e-4, ClipRatioHigh = 4e-4 }),
        new("clip-cov", "Clip-Cov on DAPO: detach random high-covariance tokens, clip 1/1, c = 10, dynamic sampling",
            Dapo with { PolicyLoss = PolicyLossKind.ClipCov, ClipRatioLow = 1.0, ClipRatioHigh = 1.0, ClipRatioC = 10.0, OverlongBuffer = false }),
        new("kl-cov", "KL-Cov on DAPO: |log r| penalty on the top-covariance tokens, dynamic sampling",
            Dapo with { PolicyLoss = PolicyLossKind.KlCov, OverlongBuffer = false }),
        new("arpo", "ARPO: GRPO objective of the ARPO scripts (no KL) on entropy-triggered rollout trees, fork rule arpo",
            new(), BranchPolicy: "arpo", BudgetAllocator: "fixed"),
        new("aepo", "AEPO: entropy-balanced clipping and entropy-aware advantages (α 0.2), no KL, fork rule aepo, pre-monitored budget",
            new() { PolicyLoss = PolicyLossKind.EntropyBalanced, EntropyAdvantageAlpha = 0.2 }, BranchPolicy: "aepo", BudgetAllocator: "aepo-premonitor"),
    ];

    /// <summary>The names, in <see cref="All"/>'s order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(a => a.Name)];

    /// <summary>The entry of <paramref name="name"/> (case-insensitive); throws naming the known ones when there is none.</summary>
    public static AlgorithmEntry Get(string name) =>
        TryGet(name) ?? throw new ArgumentException($"unknown algorithm '{name}'. Known: {string.Join(", ", Names)}.{NameSuggestions.DidYouMean(name ?? string.Empty, Names)}");

    /// <summary>The entry of <paramref name="name"/>, or null.</summary>
    public static AlgorithmEntry? TryGet(string? name) =>
        name is null ? null : All.FirstOrDefault(a => string.Equals(a.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The preset objective of <paramref name="name"/>.</summary>
    public static ObjectiveOptions Objective(string name) => Get(name).Objective;
}
