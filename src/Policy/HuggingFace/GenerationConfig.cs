using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// <c>generation_config.json</c>: the sampling defaults a checkpoint ships with. Absent fields stay null (and are
/// not written back); fields not modelled here are kept in <see cref="Extra"/>.
/// </summary>
public sealed record GenerationConfig
{
    public const string FileName = "generation_config.json";

    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>One id or a list (Qwen2.5-Instruct: <c>[151645, 151643]</c>); generation stops at any of them.</summary>
    [JsonPropertyName("eos_token_id")] public TokenIdList? EosTokenId { get; init; }

    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }

    [JsonPropertyName("do_sample")] public bool? DoSample { get; init; }

    [JsonPropertyName("temperature")] public double? Temperature { get; init; }

    [JsonPropertyName("top_p")] public double? TopP { get; init; }

    [JsonPropertyName("top_k")] public int? TopK { get; init; }

    [JsonPropertyName("repetition_penalty")] public double? RepetitionPenalty { get; init; }

    [JsonPropertyName("max_new_tokens")] public int? MaxNewTokens { get; init; }

    [JsonPropertyName("max_length")] public int? MaxLength { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>The stop ids as a list (empty when none).</summary>
    [JsonIgnore] public IReadOnlyList<int> EosTokenIds => EosTokenId ?? (IReadOnlyList<int>)[];

    public static GenerationConfig Read(string path) => HfJson.Read<GenerationConfig>(path);

    public static GenerationConfig Parse(string json) => HfJson.Parse<GenerationConfig>(json);

    public void Write(string path) => HfJson.Write(path, this);
}
