using System.Security.Cryptography;
using System.Text;

namespace AgentRl.Abstractions.Swarm;

/// <summary>Which shard of a pool holds an item: a stable hash of the task and item text, modulo the shard count.</summary>
public static class PoolShards
{
    /// <summary>The grain key of shard <paramref name="shard"/> of <paramref name="pool"/>.</summary>
    public static string Key(string pool, int shard) => $"{pool}/{shard}";

    /// <summary>The shard of an item, in [0, <paramref name="shards"/>).</summary>
    public static int Of(string task, string itemJson, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(task + "\n" + itemJson), hash);
        return (int)(BitConverter.ToUInt64(hash[..8]) % (ulong)shards);
    }
}
