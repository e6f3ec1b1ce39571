using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// One trajectory, token in and token out (docs/ARCHITECTURE.md §5): the exact ids the model produced and the exact ids appended
/// for tool results, never re-tokenized. Per-token arrays have the length of <see cref="TokenIds"/>; positions the
/// model did not generate have mask 0, logprob 0, entropy 0 and version -1.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.trajectory.v1")]
public sealed record Trajectory
{
    [Id(0)] public required string GroupId { get; init; }
    [Id(1)] public required string BranchPath { get; init; }
    [Id(2)] public string? ParentPath { get; init; }
    [Id(3)] public int? ForkPosition { get; init; }
    [Id(4)] public int Depth { get; init; }
    [Id(5)] public required int[] TokenIds { get; init; }
    [Id(6)] public required int PromptLength { get; init; }
    [Id(7)] public required byte[] LossMask { get; init; }
    [Id(8)] public required float[] Logprobs { get; init; }
    [Id(9)] public required float[] Entropies { get; init; }
    [Id(10)] public required long[] PolicyVersions { get; init; }
    [Id(11)] public IReadOnlyList<ToolCallRecord> ToolCalls { get; init; } = [];
    [Id(12)] public required FinishReason FinishReason { get; init; }
    [Id(13)] public string? Error { get; init; }
    [Id(14)] public IReadOnlyList<ChatMessage> Conversation { get; init; } = [];
    [Id(15)] public double Reward { get; init; }
    [Id(16)] public IReadOnlyDictionary<string, double> RewardParts { get; init; } = new Dictionary<string, double>();

    /// <summary>Mean entropy of the first k generated tokens after each tool result (the branching signal), in call order.</summary>
    [Id(17)] public IReadOnlyList<float> EntropyAfterToolResults { get; init; } = [];

    /// <summary>Mean entropy of the first k generated tokens of the first turn (the baseline H_initial).</summary>
    [Id(18)] public float InitialEntropy { get; init; }

    /// <summary>For each message of <see cref="Conversation"/>, the token offset where it ends (tool results of one turn share the end of their observation).</summary>
    [Id(19)] public int[] MessageEnds { get; init; } = [];

    /// <summary>For a forked child: the parent's tool calls its sandbox replayed before continuing.</summary>
    [Id(20)] public int ReplayedToolCalls { get; init; }

    /// <summary>For a forked child: replayed calls whose observation differed from the parent's recorded one.</summary>
    [Id(21)] public int ReplayMismatches { get; init; }

    /// <summary>
    /// Per token, −Σ e^ℓ·ℓ over the top logprobs the generator returned (0 where not generated), when the rollout asked
    /// for them (the <c>topk-summed-normalized</c> entropy estimator); null otherwise.
    /// </summary>
    [Id(22)] public float[]? TopLogprobEntropies { get; init; }

    /// <summary>
    /// For a forked child of a rollout tree: ΔH = Ĥ(segment after the tool result) − H_init(parent) at its fork point, the
    /// entropy rise that granted the fork (docs/ALGORITHMS.md §1.3); null for a root.
    /// </summary>
    [Id(23)] public double? ForkEntropyDelta { get; init; }

    public int GeneratedTokenCount => LossMask.Count(m => m != 0);
}
