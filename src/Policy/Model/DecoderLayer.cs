using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>Pre-norm decoder block: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>.</summary>
public sealed class DecoderLayer : nn.Module<Tensor, AttentionInputs, Tensor>
{
    [ComponentName(Name = "input_layernorm")]
    private readonly RmsNorm _inputLayerNorm;
    [ComponentName(Name = "self_attn")]
    private readonly SelfAttention _selfAttention;
    [ComponentName(Name = "post_attention_layernorm")]
    private readonly RmsNorm _postAttentionLayerNorm;
    [ComponentName(Name = "mlp")]
    private readonly Mlp _mlp;

    public DecoderLayer(ModelConfig config, int layerIndex, Device device, ScalarType dtype) : base("DecoderLayer")
    {
        _inputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        _selfAttention = new SelfAttention(config, layerIndex, device, dtype);
        _postAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        _mlp = new Mlp(config, device, dtype);
        RegisterComponents();
    }

    internal SelfAttention Attention => _selfAttention;

    /// <summary>This layer's weights for <see cref="CpuDecoder"/>; null while the attention is not fused.</summary>
    internal CpuDecoder.LayerWeights? DecoderWeights()
    {
        if (_selfAttention.Fused is not { } fused)
        {
            return null;
        }

        var (gate, up, down) = _mlp.Weights;
        return new CpuDecoder.LayerWeights(_inputLayerNorm.Weight, fused.Weight, fused.Bias, _selfAttention.OutputWeight, _postAttentionLayerNorm.Weight, gate, up, down);
    }

    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        var attended = hidden.add(_selfAttention.forward(_inputLayerNorm.forward(hidden), inputs), Scalars.One);   // [batch, seq, hidden]
        return attended.add(_mlp.forward(_postAttentionLayerNorm.forward(attended)), Scalars.One);                  // [batch, seq, hidden]
    }
}
