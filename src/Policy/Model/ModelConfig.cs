using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.Model;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that a Llama / Qwen2 decoder needs. Property names are the
/// Hugging Face ones, so the file reads and writes unchanged.
/// </summary>
public sealed record ModelConfig
{
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 512;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 384;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 4;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 4;
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; } = 2;
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 256;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>Qwen2 puts a bias on q/k/v; Llama does not. Qwen2 configs omit the field, so null means "by model_type".</summary>
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; init; } = "float32";
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenId { get; init; }

    /// <summary>Fields this record does not model, kept so that a config read and written again loses nothing.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;
    [JsonIgnore] public bool UsesQkvBias => AttentionBias ?? ModelType == "qwen2";

    /// <summary>The bench and test configuration <c>tiny</c> (issue spec): about 0.9M parameters.</summary>
    public static ModelConfig Tiny { get; } = new();

    /// <summary>The bench configuration <c>small</c>.</summary>
    public static ModelConfig Small { get; } = new()
    {
        VocabSize = 4096,
        HiddenSize = 256,
        IntermediateSize = 768,
        NumHiddenLayers = 6,
        NumAttentionHeads = 8,
        NumKeyValueHeads = 4,
        MaxPositionEmbeddings = 512,
    };

    /// <summary>The names <see cref="Named"/> knows.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small"];

    public static ModelConfig Named(string name) => name switch
    {
        "tiny" => Tiny,
        "small" => Small,
        _ => throw new ArgumentException($"Unknown model configuration '{name}'. Known: {string.Join(", ", PresetNames)}.", nameof(name)),
    };
}
