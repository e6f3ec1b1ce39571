using AgentRl.Policy.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.HuggingFace;

/// <summary>A module that only holds named parameters and children, registered under Hugging Face names.</summary>
internal sealed class NamedNode : nn.Module
{
    public NamedNode(string name) : base(name)
    {
    }

    public NamedNode Child(string name, NamedNode child)
    {
        register_module(name, child);
        return this;
    }

    public NamedNode Param(string name, params long[] shape)
    {
        register_parameter(name, new Parameter(randn(shape)));
        return this;
    }
}

/// <summary>
/// Stand-in for the real decoder: the parameter names and shapes of a Qwen2 <c>Qwen2ForCausalLM</c> (q/k/v bias,
/// separate <c>lm_head</c> unless told to leave it out), random values.
/// </summary>
internal static class Qwen2LikeTestModule
{
    public static ModelConfig Config(bool tied) => new()
    {
        Architectures = ["Qwen2ForCausalLM"],
        ModelType = "qwen2",
        VocabSize = 40,
        HiddenSize = 16,
        IntermediateSize = 24,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        TieWordEmbeddings = tied,
        TorchDtype = "float32",
    };

    public static NamedNode Create(ModelConfig config, bool withLmHead = true)
    {
        var h = config.HiddenSize;
        var q = config.NumAttentionHeads * config.HeadDim;
        var kv = config.KeyValueHeads * config.HeadDim;
        var layers = new NamedNode("layers");
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var attention = new NamedNode("self_attn")
                .Child("q_proj", new NamedNode("q_proj").Param("weight", q, h).Param("bias", q))
                .Child("k_proj", new NamedNode("k_proj").Param("weight", kv, h).Param("bias", kv))
                .Child("v_proj", new NamedNode("v_proj").Param("weight", kv, h).Param("bias", kv))
                .Child("o_proj", new NamedNode("o_proj").Param("weight", h, q));
            var mlp = new NamedNode("mlp")
                .Child("gate_proj", new NamedNode("gate_proj").Param("weight", config.IntermediateSize, h))
                .Child("up_proj", new NamedNode("up_proj").Param("weight", config.IntermediateSize, h))
                .Child("down_proj", new NamedNode("down_proj").Param("weight", h, config.IntermediateSize));
            layers.Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new NamedNode("layer")
                .Child("self_attn", attention)
                .Child("mlp", mlp)
                .Child("input_layernorm", new NamedNode("norm").Param("weight", h))
                .Child("post_attention_layernorm", new NamedNode("norm").Param("weight", h)));
        }
        var model = new NamedNode("model")
            .Child("embed_tokens", new NamedNode("embed_tokens").Param("weight", config.VocabSize, h))
            .Child("layers", layers)
            .Child("norm", new NamedNode("norm").Param("weight", h));
        var root = new NamedNode("Qwen2ForCausalLM").Child("model", model);
        if (withLmHead)
        {
            root.Child("lm_head", new NamedNode("lm_head").Param("weight", config.VocabSize, h));
        }
        return root;
    }

    /// <summary>Raw bytes of every state tensor, by name, for bit-exact comparison.</summary>
    public static Dictionary<string, byte[]> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous().bytes.ToArray());
}
