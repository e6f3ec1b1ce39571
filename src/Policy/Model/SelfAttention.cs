using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>Grouped-query self-attention with rotary positions and an optional KV cache (Hugging Face names).</summary>
public sealed class SelfAttention : nn.Module<Tensor, AttentionInputs, Tensor>
{
    [ComponentName(Name = "q_proj")]
    private readonly Linear _qProj;
    [ComponentName(Name = "k_proj")]
    private readonly Linear _kProj;
    [ComponentName(Name = "v_proj")]
    private readonly Linear _vProj;
    [ComponentName(Name = "o_proj")]
    private readonly Linear _oProj;
    private readonly int _layerIndex;
    private readonly long _heads;
    private readonly long _kvHeads;
    private readonly long _headDim;
    private FusedProjection? _fused;

    public SelfAttention(ModelConfig config, int layerIndex, Device device, ScalarType dtype) : base("SelfAttention")
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _layerIndex = layerIndex;
        var bias = config.UsesQkvBias;
        _qProj = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: bias, device: device, dtype: dtype);
        _kProj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: bias, device: device, dtype: dtype);
        _vProj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: bias, device: device, dtype: dtype);
        _oProj = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        var batch = hidden.size(0);
        var seq = hidden.size(1);
        var groups = _heads / _kvHeads;
        Tensor q, k, v;
        if (_fused is { } fused)
        {
            // Inference: one projection for q, k and v, one rotation for q and k together.
            var qkv = nn.functional.linear(hidden, fused.Weight, fused.Bias)                                           // [batch, seq, (heads + 2 kv_heads) * head_dim]
                .view(batch, seq, _heads + (2 * _kvHeads), _headDim).transpose(1, 2);                                   // [batch, heads + 2 kv_heads, seq, head_dim]
            var qk = RotaryEmbedding.Apply(qkv.narrow(1, 0, _heads + _kvHeads), inputs.Cos, inputs.Sin);              // [batch, heads + kv_heads, seq, head_dim]
            q = qk.narrow(1, 0, _heads);                                                                                // [batch, heads, seq, head_dim]
            k = qk.narrow(1, _heads, _kvHeads);                                                                         // [batch, kv_heads, seq, head_dim]
            v = qkv.narrow(1, _heads + _kvHeads, _kvHeads);                                                             // [batch, kv_heads, seq, head_dim]
        }
        else
        {
            q = _qProj.forward(hidden).view(batch, seq, _heads, _headDim).transpose(1, 2);     // [batch, heads, seq, head_dim]
            k = _kProj.forward(hidden).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);   // [batch, kv_heads, seq, head_dim]
            v = _vProj.forward(hidden).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);   // [batch, kv_heads, seq, head_dim]
            q = RotaryEmbedding.Apply(q, inputs.Cos, inputs.Sin);                                // [batch, heads, seq, head_dim]
            k = RotaryEmbedding.Apply(k, inputs.Cos, inputs.Sin);                                // [batch, kv_heads, seq, head_dim]
        }

        if (inputs.Cache is { } cache)
        {
            if (inputs.UniformStart is { } start)
            {
                cache.WriteAt(_layerIndex, inputs.FirstCacheRow, start, k, v);
            }
            else
            {
                var index = inputs.WritePositions!.expand(batch, _kvHeads, seq, _headDim);      // [batch, kv_heads, seq, head_dim]
                cache.Write(_layerIndex, inputs.FirstCacheRow, k, v, index);
            }


            (k, v) = cache.Read(_layerIndex, inputs.FirstCacheRow, batch, inputs.KeyLength);                           // [batch, kv_heads, keys, head_dim]
        }

        Tensor attended;   // [batch, seq, heads * head_dim]
        if (seq == 1)
        {
            // One query per row: fold the query heads of a group into the query axis, so K/V are never repeated.
            var grouped = q.reshape(batch, _kvHeads, groups, _headDim);                                              // [batch, kv_heads, groups, head_dim]
            var output = nn.functional.scaled_dot_product_attention(grouped, k, v, inputs.Mask);                      // [batch, kv_heads, groups, head_dim]
            attended = output.reshape(batch, 1, _heads * _headDim);                                                  // [batch, 1, heads * head_dim]
        }
        else
        {
            var keyLength = k.size(2);
            if (groups > 1)
            {
                k = k.unsqueeze(2).expand(batch, _kvHeads, groups, keyLength, _headDim).reshape(batch, _heads, keyLength, _headDim);   // [batch, heads, keys, head_dim]
                v = v.unsqueeze(2).expand(batch, _kvHeads, groups, keyLength, _headDim).reshape(batch, _heads, keyLength, _headDim);   // [batch, heads, keys, head_dim]
            }

            var output = inputs.Mask is null
                ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)                              // [batch, heads, seq, head_dim]
                : nn.functional.scaled_dot_product_attention(q, k, v, inputs.Mask);                                 // [batch, heads, seq, head_dim]
            attended = output.transpose(1, 2).reshape(batch, seq, _heads * _headDim);                                // [batch, seq, heads * head_dim]
        }

        return _oProj.forward(attended);                                                                             // [batch, seq, hidden]
    }

    /// <summary>The fused q/k/v projection ([(heads + 2 kv_heads) * head_dim, hidden] and its bias), null until <see cref="Fuse"/>.</summary>
    internal (Tensor Weight, Tensor? Bias)? Fused => _fused is { } fused ? (fused.Weight, fused.Bias) : null;

    /// <summary>[hidden, heads * head_dim]</summary>
    internal Tensor OutputWeight => _oProj.weight!;

    /// <summary>Concatenates the q/k/v weights into one projection used by later forwards (inference only).</summary>
    internal void Fuse()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var weight = cat([_qProj.weight!, _kProj.weight!, _vProj.weight!], 0);                               // [(heads + 2 kv_heads) * head_dim, hidden]
        var bias = _qProj.bias is null ? null : cat([_qProj.bias, _kProj.bias!, _vProj.bias!], 0);          // [(heads + 2 kv_heads) * head_dim]
        _fused?.Dispose();
        _fused = new FusedProjection(weight.DetachFromDisposeScope(), bias?.DetachFromDisposeScope());
    }

    /// <summary>Drops the fused projection; forwards use the separate (trainable) weights again.</summary>
    internal void Unfuse()
    {
        _fused?.Dispose();
        _fused = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Unfuse();
        }

        base.Dispose(disposing);
    }

    /// <summary>Holder (not a Tensor field, so never registered as a buffer) for the fused q/k/v projection.</summary>
    private sealed class FusedProjection(Tensor weight, Tensor? bias) : IDisposable
    {
        public Tensor Weight { get; } = weight;

        public Tensor? Bias { get; } = bias;

        public void Dispose()
        {
            Weight.Dispose();
            Bias?.Dispose();
        }
    }
}
