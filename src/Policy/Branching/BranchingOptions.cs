using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Policy.Branching;

/// <summary>What happens when a group ends with fewer finished trajectories than the budget M.</summary>
public enum ShortGroupPolicy
{
    /// <summary>Default (docs/ALGORITHMS.md §9 fix): assembling a short group throws.</summary>
    Forbid,

    /// <summary>Return the short group as it is; the shortfall is reported for logging.</summary>
    AllowShort,

    /// <summary>Reference behaviour (§1.3 step 10): repeat the last trajectory until the group has M members; the copies are reported.</summary>
    DuplicateLast,
}

/// <summary>
/// One configuration object for entropy-triggered branching rollouts, with the defaults of docs/ALGORITHMS.md §1.2, §1.7,
/// §2.1 and the §9 fixes. Names select the pluggable pieces (<see cref="EntropyEstimators"/>, <see cref="BranchPolicies"/>,
/// <see cref="BudgetAllocators"/>, <see cref="TreeAttributions"/>).
/// </summary>
public sealed record BranchingOptions
{
    /// <summary>M: trajectories per prompt (group size). Reference scripts: 16 (14B: 12).</summary>
    public int TotalTrajectories { get; init; } = 16;

    /// <summary>N: initial trajectories for the <c>fixed</c> allocator; M−N slots are reserved for forks. Scripts: 8.</summary>
    public int InitialTrajectories { get; init; } = 8;

    /// <summary>Z: children requested per fork (reference <c>beam_size − 1</c>; scripts use beam 2, so Z = 1).</summary>
    public int ChildrenPerFork { get; init; } = 1;

    /// <summary>k: tokens after a tool result (or prompt) whose entropy is measured (reference: 20).</summary>
    public int EntropyPositions { get; init; } = 20;

    /// <summary>Top logprobs the engine returns per position for <c>topk-summed-normalized</c> (reference: 10).</summary>
    public int TopLogprobs { get; init; } = 10;

    /// <summary>|V| for <c>topk-summed-normalized</c>; no default, it must match the tokenizer.</summary>
    public int? VocabularySize { get; init; }

    /// <summary><c>mean-full-vocab</c> (default) or <c>topk-summed-normalized</c> (reference parity).</summary>
    public string EntropyEstimator { get; init; } = MeanFullVocabEntropy.RegistryName;

    /// <summary><c>arpo</c> (default), <c>arpo-threshold</c>, <c>aepo</c> or <c>none</c>.</summary>
    public string BranchPolicy { get; init; } = ArpoBranchPolicy.RegistryName;

    /// <summary><c>fixed</c> (default) or <c>aepo-premonitor</c>.</summary>
    public string BudgetAllocator { get; init; } = FixedBudgetAllocator.RegistryName;

    /// <summary><c>soft</c> (default, the reference's only path) or <c>hard</c> (the paper's shared-token mean).</summary>
    public string Attribution { get; init; } = TreeAttributions.Soft;

    /// <summary>α: ARPO base branch probability (<c>branch_probability</c>, 0.5).</summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>β: entropy weight (<c>entropy_weight</c>; scripts 0.2, yaml 0.5).</summary>
    public double Beta { get; init; } = 0.2;

    /// <summary>τ: threshold of <c>arpo-threshold</c> (P &gt; τ) and of <c>aepo</c> (p ≥ τ; <c>branch_probability</c>), 0.5.</summary>
    public double Tau { get; init; } = 0.5;

    /// <summary>AEPO consecutive-branch penalty per round: the draw is scaled by max(0, 1 − penalty·l) (hard-coded 0.05).</summary>
    public double ConsecutiveBranchPenalty { get; init; } = 0.05;

    /// <summary>β of the AEPO pre-monitoring sigmoid N = clamp(⌊M·σ(β(H_root − H̄_tool))⌋ + 1, 1, M) (code: 0.5).</summary>
    public double PreMonitorBeta { get; init; } = 0.5;

    /// <summary>§9 fix: grant competing fork candidates of a round by ΔH, highest first (reference: slot index order).</summary>
    public bool RankForksByEntropy { get; init; } = true;

    /// <summary>Fresh trajectories added per round once every path has ended with budget left (reference: 1; default: all at once).</summary>
    public int TopUpsPerRound { get; init; } = int.MaxValue;

    /// <summary>§9 fix: a short group is an error by default instead of being padded with copies.</summary>
    public ShortGroupPolicy ShortGroup { get; init; } = ShortGroupPolicy.Forbid;

    /// <summary>
    /// The options of a run's <see cref="BranchingSettings"/> (presets already filled) with M = <paramref name="groupSize"/>;
    /// N defaults to M/2 (at least 1), 0 top-ups per round means all at once. <paramref name="vocabularySize"/> (|V| of the
    /// policy's tokenizer) is needed by <c>topk-summed-normalized</c> only.
    /// </summary>
    public static BranchingOptions FromSettings(BranchingSettings settings, int groupSize, int? vocabularySize = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var options = new BranchingOptions
        {
            TotalTrajectories = groupSize,
            InitialTrajectories = settings.InitialTrajectories ?? Math.Max(1, groupSize / 2),
            ChildrenPerFork = settings.ChildrenPerFork,
            EntropyPositions = settings.EntropyPositions,
            EntropyEstimator = settings.EntropyEstimator,
            BranchPolicy = settings.BranchPolicy ?? ArpoBranchPolicy.RegistryName,
            BudgetAllocator = settings.BudgetAllocator ?? FixedBudgetAllocator.RegistryName,
            Attribution = settings.Attribution,
            Alpha = settings.Alpha,
            Beta = settings.Beta,
            Tau = settings.Tau,
            ConsecutiveBranchPenalty = settings.ConsecutiveBranchPenalty,
            PreMonitorBeta = settings.PreMonitorBeta,
            RankForksByEntropy = settings.RankForksByEntropy,
            TopUpsPerRound = settings.TopUpsPerRound == 0 ? int.MaxValue : settings.TopUpsPerRound,
            VocabularySize = vocabularySize,
        };
        options.Validate();
        return options;
    }

    /// <summary>Throws when a field is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(TotalTrajectories, 1, nameof(TotalTrajectories));
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialTrajectories, 1, nameof(InitialTrajectories));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(InitialTrajectories, TotalTrajectories, nameof(InitialTrajectories));
        ArgumentOutOfRangeException.ThrowIfLessThan(ChildrenPerFork, 1, nameof(ChildrenPerFork));
        ArgumentOutOfRangeException.ThrowIfLessThan(EntropyPositions, 1, nameof(EntropyPositions));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopLogprobs, 1, nameof(TopLogprobs));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopUpsPerRound, 1, nameof(TopUpsPerRound));
        ArgumentOutOfRangeException.ThrowIfNegative(ConsecutiveBranchPenalty, nameof(ConsecutiveBranchPenalty));
        if (VocabularySize is < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(VocabularySize), "The vocabulary needs at least 2 tokens.");
        }

        Require(EntropyEstimator != TopKSummedNormalizedEntropy.RegistryName || VocabularySize is not null,
            $"'{EntropyEstimator}' needs {nameof(VocabularySize)}.");
        Require(EntropyEstimators.Names.Contains(EntropyEstimator), $"Unknown entropy estimator '{EntropyEstimator}'.");
        Require(BranchPolicies.Names.Contains(BranchPolicy), $"Unknown branch policy '{BranchPolicy}'.");
        Require(BudgetAllocators.Names.Contains(BudgetAllocator), $"Unknown budget allocator '{BudgetAllocator}'.");
        Require(TreeAttributions.Names.Contains(Attribution), $"Unknown attribution '{Attribution}'.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
