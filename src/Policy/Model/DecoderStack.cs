using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>The Hugging Face <c>model.</c> part: token embeddings, decoder layers and the final norm.</summary>
public sealed class DecoderStack : nn.Module<Tensor, AttentionInputs, Tensor>
{
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embedTokens;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<DecoderLayer> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    public DecoderStack(ModelConfig config, Device device, ScalarType dtype) : base("DecoderStack")
    {
        _embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        _layers = new ModuleList<DecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, device, dtype)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>[vocab, hidden] — the input embedding matrix, also the output projection when embeddings are tied.</summary>
    public Tensor EmbeddingWeight => _embedTokens.weight!;

    internal IEnumerable<DecoderLayer> Layers => _layers;

    internal Tensor NormWeight => _norm.Weight;

    public override Tensor forward(Tensor inputIds, AttentionInputs inputs)
    {
        var hidden = _embedTokens.forward(inputIds);         // [batch, seq, hidden]
        foreach (var layer in _layers)
        {
            hidden = layer.forward(hidden, inputs);          // [batch, seq, hidden]
        }

        return _norm.forward(hidden);                        // [batch, seq, hidden]
    }
}
