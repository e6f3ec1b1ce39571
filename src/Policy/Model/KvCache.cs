using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>
/// Per-layer key/value tensors for incremental decoding, laid out <c>[rows, kv_heads, length, head_dim]</c>. Each row is
/// one sequence with its own length; writes go to per-row positions, and attention masks keys beyond a row's length.
/// Storage grows (by doubling) in rows and in length; the tensors live outside any dispose scope.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;     // per layer [rows, kv_heads, length, head_dim]
    private readonly Tensor?[] _values;   // per layer [rows, kv_heads, length, head_dim]
    private readonly long _kvHeads;
    private readonly long _headDim;
    private readonly Device _device;
    private readonly ScalarType _dtype;

    public KvCache(ModelConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        _keys = new Tensor?[config.NumHiddenLayers];
        _values = new Tensor?[config.NumHiddenLayers];
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _device = device ?? CPU;
        _dtype = dtype;
    }

    public long RowCapacity { get; private set; }

    public long LengthCapacity { get; private set; }

    public int Layers => _keys.Length;

    /// <summary>Makes room for <paramref name="rows"/> rows of <paramref name="length"/> positions, keeping the contents.</summary>
    public void EnsureCapacity(long rows, long length)
    {
        if (rows <= RowCapacity && length <= LengthCapacity)
        {
            return;
        }

        var newRows = rows <= RowCapacity ? RowCapacity : Math.Max(rows, RowCapacity * 2);
        var newLength = length <= LengthCapacity ? LengthCapacity : Math.Max(Math.Max(length, 64), LengthCapacity * 2);
        using (NewDisposeScope())
        {
            for (var layer = 0; layer < _keys.Length; layer++)
            {
                _keys[layer] = Grow(_keys[layer], newRows, newLength);
                _values[layer] = Grow(_values[layer], newRows, newLength);
            }
        }

        RowCapacity = newRows;
        LengthCapacity = newLength;
    }

    private Tensor Grow(Tensor? old, long rows, long length)
    {
        var grown = zeros([rows, _kvHeads, length, _headDim], dtype: _dtype, device: _device);   // [rows, kv_heads, length, head_dim]
        if (old is not null)
        {
            grown.narrow(0, 0, RowCapacity).narrow(2, 0, LengthCapacity).copy_(old);   // [old rows, kv_heads, old length, head_dim]
            old.Dispose();
        }

        return grown.DetachFromDisposeScope();
    }

    /// <summary>Writes new keys and values of rows <c>firstRow .. firstRow + batch - 1</c> at the positions in <paramref name="index"/>.</summary>
    /// <param name="layer">Decoder layer.</param>
    /// <param name="firstRow">First cache row of the batch.</param>
    /// <param name="key">[batch, kv_heads, seq, head_dim]</param>
    /// <param name="value">[batch, kv_heads, seq, head_dim]</param>
    /// <param name="index">[batch, kv_heads, seq, head_dim] absolute positions (int64).</param>
    internal void Write(int layer, long firstRow, Tensor key, Tensor value, Tensor index)
    {
        var batch = key.size(0);
        _keys[layer]!.narrow(0, firstRow, batch).scatter_(2, index, key);       // [batch, kv_heads, capacity, head_dim]
        _values[layer]!.narrow(0, firstRow, batch).scatter_(2, index, value);   // [batch, kv_heads, capacity, head_dim]
    }

    /// <summary>Writes new keys and values of rows <c>firstRow ..</c> that all start at position <paramref name="start"/>.</summary>
    /// <param name="layer">Decoder layer.</param>
    /// <param name="firstRow">First cache row of the batch.</param>
    /// <param name="start">Position of the first new token, the same in every row.</param>
    /// <param name="key">[batch, kv_heads, seq, head_dim]</param>
    /// <param name="value">[batch, kv_heads, seq, head_dim]</param>
    internal void WriteAt(int layer, long firstRow, long start, Tensor key, Tensor value)
    {
        var batch = key.size(0);
        var seq = key.size(2);
        _keys[layer]!.narrow(0, firstRow, batch).narrow(2, start, seq).copy_(key);       // [batch, kv_heads, seq, head_dim]
        _values[layer]!.narrow(0, firstRow, batch).narrow(2, start, seq).copy_(value);   // [batch, kv_heads, seq, head_dim]
    }

    /// <summary>Views of rows <c>firstRow .. firstRow + batch - 1</c> and positions <c>0 .. length - 1</c>.</summary>
    internal (Tensor Keys, Tensor Values) Read(int layer, long firstRow, long batch, long length)
    {
        var keys = _keys[layer]!.narrow(0, firstRow, batch).narrow(2, 0, length);       // [batch, kv_heads, length, head_dim]
        var values = _values[layer]!.narrow(0, firstRow, batch).narrow(2, 0, length);   // [batch, kv_heads, length, head_dim]
        return (keys, values);
    }

    /// <summary>The whole key and value tensors of <paramref name="layer"/>, <c>[rows, kv_heads, capacity, head_dim]</c>.</summary>
    internal (Tensor Keys, Tensor Values) Storage(int layer) => (_keys[layer]!, _values[layer]!);

    /// <summary>Copies the first <paramref name="length"/> positions of row <paramref name="from"/> into row <paramref name="to"/>.</summary>
    public void CopyRow(long from, long to, long length)
    {
        if (from == to || length == 0)
        {
            return;
        }

        using (NewDisposeScope())
        {
            for (var layer = 0; layer < _keys.Length; layer++)
            {
                var keys = _keys[layer]!;       // [rows, kv_heads, capacity, head_dim]
                var values = _values[layer]!;   // [rows, kv_heads, capacity, head_dim]
                keys.narrow(0, to, 1).narrow(2, 0, length).copy_(keys.narrow(0, from, 1).narrow(2, 0, length));         // [1, kv_heads, length, head_dim]
                values.narrow(0, to, 1).narrow(2, 0, length).copy_(values.narrow(0, from, 1).narrow(2, 0, length));     // [1, kv_heads, length, head_dim]
            }
        }
    }

    public void Dispose()
    {
        for (var layer = 0; layer < _keys.Length; layer++)
        {
            _keys[layer]?.Dispose();
            _values[layer]?.Dispose();
            _keys[layer] = null;
            _values[layer] = null;
        }
    }
}
