using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// <c>tokenizer_config.json</c>: special tokens, the chat template and the added-token table. Only read and written
/// here; the tokenizer consumes it. Fields not modelled are kept in <see cref="Extra"/>. Special tokens written by
/// older tools as AddedToken objects (<c>{"__type": "AddedToken", "content": "&lt;/s&gt;", …}</c>) are read as their
/// content and written back as plain strings, which <c>transformers</c> reads the same.
/// </summary>
public sealed record TokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>The separate template file newer <c>transformers</c> versions save next to the config.</summary>
    public const string ChatTemplateFileName = "chat_template.jinja";

    [JsonPropertyName("tokenizer_class")] public string? TokenizerClass { get; init; }

    [JsonPropertyName("chat_template")]
    [JsonConverter(typeof(ChatTemplateJsonConverter))]
    public string? ChatTemplate { get; init; }

    [JsonPropertyName("bos_token")][JsonConverter(typeof(SpecialTokenJsonConverter))] public string? BosToken { get; init; }

    [JsonPropertyName("eos_token")][JsonConverter(typeof(SpecialTokenJsonConverter))] public string? EosToken { get; init; }

    [JsonPropertyName("pad_token")][JsonConverter(typeof(SpecialTokenJsonConverter))] public string? PadToken { get; init; }

    [JsonPropertyName("unk_token")][JsonConverter(typeof(SpecialTokenJsonConverter))] public string? UnkToken { get; init; }

    [JsonPropertyName("additional_special_tokens")]
    [JsonConverter(typeof(SpecialTokenListJsonConverter))]
    public IReadOnlyList<string>? AdditionalSpecialTokens { get; init; }

    [JsonPropertyName("add_bos_token")] public bool? AddBosToken { get; init; }

    [JsonPropertyName("add_eos_token")] public bool? AddEosToken { get; init; }

    [JsonPropertyName("add_prefix_space")] public bool? AddPrefixSpace { get; init; }

    [JsonPropertyName("clean_up_tokenization_spaces")] public bool? CleanUpTokenizationSpaces { get; init; }

    [JsonPropertyName("split_special_tokens")] public bool? SplitSpecialTokens { get; init; }

    [JsonPropertyName("errors")] public string? Errors { get; init; }

    /// <summary>Added tokens keyed by id (as the file writes it, a decimal string).</summary>
    [JsonPropertyName("added_tokens_decoder")] public Dictionary<string, AddedTokenInfo>? AddedTokensDecoder { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>The added tokens keyed by integer id.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<int, AddedTokenInfo> AddedTokens =>
        (AddedTokensDecoder ?? []).ToDictionary(kv => int.Parse(kv.Key, NumberStyles.None, CultureInfo.InvariantCulture), kv => kv.Value);

    /// <summary><c>model_max_length</c>, which some files write as 1e30 for "no limit".</summary>
    [JsonIgnore]
    public double? ModelMaxLength =>
        Extra is not null && Extra.TryGetValue("model_max_length", out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    public static TokenizerConfig Read(string path) => HfJson.Read<TokenizerConfig>(path);

    public static TokenizerConfig Parse(string json) => HfJson.Parse<TokenizerConfig>(json);

    public void Write(string path) => HfJson.Write(path, this);

    /// <summary>
    /// Reads <c>tokenizer_config.json</c> of a checkpoint directory; when it has no <c>chat_template</c>, the template
    /// comes from <c>chat_template.jinja</c> beside it, if present. Null when the directory has no config.
    /// </summary>
    public static TokenizerConfig? ReadFromDirectory(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        var config = Read(path);
        var templatePath = Path.Combine(directory, ChatTemplateFileName);
        return config.ChatTemplate is null && File.Exists(templatePath)
            ? config with { ChatTemplate = File.ReadAllText(templatePath) }
            : config;
    }
}

/// <summary>One entry of <c>added_tokens_decoder</c>.</summary>
public sealed record AddedTokenInfo
{
    [JsonPropertyName("content")] public string Content { get; init; } = "";

    [JsonPropertyName("lstrip")] public bool LStrip { get; init; }

    [JsonPropertyName("normalized")] public bool Normalized { get; init; }

    [JsonPropertyName("rstrip")] public bool RStrip { get; init; }

    [JsonPropertyName("single_word")] public bool SingleWord { get; init; }

    [JsonPropertyName("special")] public bool Special { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>Reads a special token written as a string or as an AddedToken object; writes a string.</summary>
public sealed class SpecialTokenJsonConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadToken(ref reader);

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    internal static string? ReadToken(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.StartObject:
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    return document.RootElement.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                        ? content.GetString()
                        : throw new JsonException("An AddedToken object needs a string 'content'.");
                }
            default:
                throw new JsonException($"A special token must be a string or an AddedToken object, not {reader.TokenType}.");
        }
    }
}

/// <summary>Reads a list of special tokens (strings or AddedToken objects); writes strings.</summary>
public sealed class SpecialTokenListJsonConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("additional_special_tokens must be a list.");
        }
        var tokens = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            tokens.Add(SpecialTokenJsonConverter.ReadToken(ref reader) ?? throw new JsonException("null in additional_special_tokens."));
        }
        return tokens;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var token in value)
        {
            writer.WriteStringValue(token);
        }
        writer.WriteEndArray();
    }
}

/// <summary>
/// Reads <c>chat_template</c> as a string, or from the list form <c>[{"name": "default", "template": …}, …]</c>
/// (the "default" entry, else the first); writes a string.
/// </summary>
public sealed class ChatTemplateJsonConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("chat_template must be a string or a list of named templates.");
        }
        using var document = JsonDocument.ParseValue(ref reader);
        var entries = document.RootElement.EnumerateArray()
            .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("template", out _))
            .ToList();
        var chosen = entries.FirstOrDefault(e => e.TryGetProperty("name", out var name) && name.ValueEquals("default"));
        if (chosen.ValueKind == JsonValueKind.Undefined)
        {
            chosen = entries.FirstOrDefault();
        }
        return chosen.ValueKind == JsonValueKind.Undefined ? null : chosen.GetProperty("template").GetString();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
