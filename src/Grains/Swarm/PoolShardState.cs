using AgentRl.Abstractions.Swarm;

namespace AgentRl.Grains.Swarm;

/// <summary>A pool shard in grain storage: its groups (in their stored form, <see cref="PooledGroup"/>), group size and counters.</summary>
[GenerateSerializer, Alias("agentrl.pool-shard-state.v1")]
public sealed class PoolShardState
{
    [Id(0)] public List<PooledGroup> Groups { get; set; } = [];
    [Id(1)] public int GroupSize { get; set; }
    [Id(2)] public long Accepted { get; set; }
    [Id(3)] public long Duplicates { get; set; }
    [Id(4)] public long Evicted { get; set; }
}
