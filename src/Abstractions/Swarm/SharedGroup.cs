namespace AgentRl.Abstractions.Swarm;

/// <summary>
/// A rollout group shared through an experience pool (docs/ALGORITHMS.md §4): the task and item, the completions as
/// text, and who produced them with which policy version and tokenizer, at which step and time.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.shared-group.v1")]
public sealed record SharedGroup
{
    /// <summary>The task the item belongs to (a bundled task name); the receiver rescores with its own instance.</summary>
    [Id(0)] public required string Task { get; init; }

    /// <summary>The item as one JSON line (prompt, answer, metadata), as <c>agentrl tasks export</c> writes it.</summary>
    [Id(1)] public required string ItemJson { get; init; }

    /// <summary>The group's completions, one per rollout.</summary>
    [Id(2)] public required IReadOnlyList<SharedCompletion> Completions { get; init; }

    /// <summary>The producing run (a swarm member); a run is never handed its own groups.</summary>
    [Id(3)] public required string ProducerRunId { get; init; }

    /// <summary>The producer's policy id.</summary>
    [Id(4)] public required string PolicyId { get; init; }

    /// <summary>The producer's policy version that generated the group.</summary>
    [Id(5)] public long PolicyVersion { get; init; }

    /// <summary>A fingerprint of the producer's tokenizer; equal ids mean equal tokenization.</summary>
    [Id(6)] public required string TokenizerId { get; init; }

    /// <summary>The producer's step.</summary>
    [Id(7)] public int Step { get; init; }

    /// <summary>When the group was produced (UTC).</summary>
    [Id(8)] public DateTime ProducedAt { get; init; }

    /// <summary>The producer's id of the group (its episode key).</summary>
    [Id(9)] public string GroupId { get; init; } = "";
}
