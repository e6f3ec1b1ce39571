using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>
/// Rotary position tables in the Hugging Face "rotate_half" layout: <c>inv_freq = θ^(−2i/d)</c>, the angles duplicated
/// over both halves of the head dimension. Not a module: the tables are derived, never part of the state dict.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly long _headDim;
    private readonly double _theta;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private Tensor? _cos;   // [capacity, head_dim]
    private Tensor? _sin;   // [capacity, head_dim]
    private long _capacity;

    public RotaryEmbedding(long headDim, double theta, long initialCapacity, Device device, ScalarType dtype)
    {
        _headDim = headDim;
        _theta = theta;
        _device = device;
        _dtype = dtype;
        EnsureCapacity(initialCapacity);
    }

    /// <summary>Grows the tables so that positions <c>0 .. length-1</c> are covered.</summary>
    public void EnsureCapacity(long length)
    {
        if (length <= _capacity)
        {
            return;
        }

        var capacity = Math.Max(length, Math.Max(64, _capacity * 2));
        using (NewDisposeScope())
        {
            // Same arithmetic as transformers' default rope init: f32 exponents, f32 outer product.
            var exponents = arange(0, _headDim, 2, dtype: ScalarType.Int64).to_type(ScalarType.Float32).div(_headDim);   // [head_dim / 2]
            var inverseFrequencies = pow(_theta, exponents).reciprocal();                                                     // [head_dim / 2]
            var positions = arange(capacity, dtype: ScalarType.Float32);                                                     // [capacity]
            var angles = outer(positions, inverseFrequencies);                                                                // [capacity, head_dim / 2]
            var doubled = cat([angles, angles], dim: -1);                                                                      // [capacity, head_dim]
            var cos = doubled.cos().to(_dtype, _device);                                                                       // [capacity, head_dim]
            var sin = doubled.sin().to(_dtype, _device);                                                                       // [capacity, head_dim]
            _cos?.Dispose();
            _sin?.Dispose();
            _cos = cos.DetachFromDisposeScope();
            _sin = sin.DetachFromDisposeScope();
        }

        _capacity = capacity;
    }

    /// <summary>Tables for positions <c>0 .. length-1</c>, shared by every row.</summary>
    public (Tensor Cos, Tensor Sin) ForRange(long length)
    {
        EnsureCapacity(length);
        var cos = _cos!.narrow(0, 0, length).view(1, 1, length, _headDim);   // [1, 1, seq, head_dim]
        var sin = _sin!.narrow(0, 0, length).view(1, 1, length, _headDim);   // [1, 1, seq, head_dim]
        return (cos, sin);
    }

    /// <summary>The whole tables, <c>[capacity, head_dim]</c>, covering positions <c>0 .. length-1</c> at least.</summary>
    internal (Tensor Cos, Tensor Sin) Tables(long length)
    {
        EnsureCapacity(length);
        return (_cos!, _sin!);
    }

    /// <summary>Tables for per-row positions.</summary>
    public (Tensor Cos, Tensor Sin) ForPositions(Tensor positions, long maxPosition)
    {
        EnsureCapacity(maxPosition + 1);
        var batch = positions.size(0);
        var seq = positions.size(1);
        var flat = positions.reshape(-1);                                                      // [batch * seq]
        var cos = _cos!.index_select(0, flat).view(batch, 1, seq, _headDim);                 // [batch, 1, seq, head_dim]
        var sin = _sin!.index_select(0, flat).view(batch, 1, seq, _headDim);                 // [batch, 1, seq, head_dim]
        return (cos, sin);
    }

    /// <summary>Applies the rotation: <c>x·cos + rotate_half(x)·sin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var halves = x.chunk(2, -1);                                  // 2 × [batch, heads, seq, head_dim / 2]
        var rotated = cat([halves[1].neg(), halves[0]], dim: -1);     // [batch, heads, seq, head_dim]
        return x.mul(cos).add(rotated.mul(sin), Scalars.One);                      // [batch, heads, seq, head_dim]
    }

    public void Dispose()
    {
        _cos?.Dispose();
        _sin?.Dispose();
    }
}
