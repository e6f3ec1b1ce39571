namespace AgentRl.Abstractions.Swarm;

/// <summary>One shard of a pool: its size, capacity, the groups per producer and the ages it holds.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.pool-shard-status.v1")]
public sealed record PoolShardStatus
{
    [Id(0)] public required string Key { get; init; }
    [Id(1)] public int Size { get; init; }
    [Id(2)] public int Capacity { get; init; }

    /// <summary>The group size the shard holds (0 while empty).</summary>
    [Id(3)] public int GroupSize { get; init; }

    /// <summary>Groups per producing run.</summary>
    [Id(4)] public IReadOnlyDictionary<string, int> Producers { get; init; } = new Dictionary<string, int>();

    [Id(5)] public int MinStep { get; init; }
    [Id(6)] public int MaxStep { get; init; }
    [Id(7)] public DateTime? Oldest { get; init; }
    [Id(8)] public DateTime? Newest { get; init; }

    /// <summary>Groups accepted, refused as duplicates, and evicted since the shard was created.</summary>
    [Id(9)] public long Accepted { get; init; }
    [Id(10)] public long Duplicates { get; init; }
    [Id(11)] public long Evicted { get; init; }

    /// <summary>The silo hosting the shard.</summary>
    [Id(12)] public string Silo { get; init; } = "";
}
