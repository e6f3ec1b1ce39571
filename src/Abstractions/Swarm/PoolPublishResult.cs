namespace AgentRl.Abstractions.Swarm;

/// <summary>What a publish did to a shard; the groups are persisted when the call returns.</summary>
/// <param name="Accepted">New groups stored.</param>
/// <param name="Duplicates">Groups already in the shard (same content hash), not stored again.</param>
/// <param name="Evicted">Groups removed to make room or because they were too old.</param>
/// <param name="Size">Groups in the shard after the publish.</param>
[GenerateSerializer, Immutable, Alias("agentrl.pool-publish-result.v1")]
public sealed record PoolPublishResult(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int Duplicates,
    [property: Id(2)] int Evicted,
    [property: Id(3)] int Size);
