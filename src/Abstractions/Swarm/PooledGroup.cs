namespace AgentRl.Abstractions.Swarm;

/// <summary>
/// A group as a pool shard stores it: what a draw filters on, the content hash, and the group itself as UTF-8 JSON
/// (<see cref="Payload"/>), read back only for the groups a draw hands out. Bytes keep the shard's state small and its
/// grain-storage write a copy of arrays rather than a walk over every message.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.pooled-group.v1")]
public sealed record PooledGroup(
    [property: Id(0)] string ProducerRunId,
    [property: Id(1)] string Task,
    [property: Id(2)] int Step,
    [property: Id(3)] DateTime ProducedAt,
    [property: Id(4)] string GroupId,
    [property: Id(5)] string Hash,
    [property: Id(6)] bool Informative,
    [property: Id(7)] int Completions,
    [property: Id(8)] byte[] Payload);
