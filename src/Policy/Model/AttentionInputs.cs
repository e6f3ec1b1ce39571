using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>
/// What every layer of one forward pass shares: rotary tables for the query positions, the attention mask and, when
/// decoding incrementally, the KV cache with the write positions. Built once per forward by <see cref="CausalLanguageModel"/>.
/// </summary>
public sealed class AttentionInputs
{
    /// <summary>[batch or 1, 1, seq, head_dim]</summary>
    public required Tensor Cos { get; init; }

    /// <summary>[batch or 1, 1, seq, head_dim]</summary>
    public required Tensor Sin { get; init; }

    /// <summary>[batch, 1, seq, keys] bool, true = may attend; null means plain causal attention over the inputs alone.</summary>
    public Tensor? Mask { get; init; }

    public KvCache? Cache { get; init; }

    /// <summary>Cache row of the first batch row.</summary>
    public long FirstCacheRow { get; init; }

    /// <summary>[batch, 1, seq, 1] int64 absolute position of each input token (where its key and value are written).</summary>
    public Tensor? WritePositions { get; init; }

    /// <summary>When every row starts at the same position: that position (writes become slice copies).</summary>
    public long? UniformStart { get; init; }

    /// <summary>Number of cached positions attention reads (keys dimension of <see cref="Mask"/>).</summary>
    public long KeyLength { get; init; }
}
