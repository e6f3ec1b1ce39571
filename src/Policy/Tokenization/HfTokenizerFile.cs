using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentRl.Policy.Tokenization;

/// <summary>
/// The parts of a Hugging Face <c>tokenizer.json</c> (+ <c>tokenizer_config.json</c>) that a byte-level BPE
/// tokenizer needs. Reading fails with <see cref="NotSupportedException"/> on settings this code does not implement,
/// rather than tokenizing differently from the reference.
/// </summary>
public sealed record HfTokenizerFile
{
    public const string TokenizerFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    /// <summary>The GPT-2 pre-tokenizer regex, used by a <c>ByteLevel</c> pre-tokenizer with <c>use_regex: true</c>.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public required IReadOnlyDictionary<string, int> Vocab { get; init; }
    public required IReadOnlyList<(string Left, string Right)> Merges { get; init; }
    public required IReadOnlyList<AddedToken> AddedTokens { get; init; }

    /// <summary>Split patterns applied in order (each piece of one split is split again by the next); empty: no split.</summary>
    public required IReadOnlyList<string> SplitPatterns { get; init; }

    public bool NfcNormalize { get; init; }
    public bool IgnoreMerges { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }

    /// <summary>Reads <c>tokenizer.json</c> and, when present beside it, <c>tokenizer_config.json</c>.</summary>
    public static HfTokenizerFile Load(string directory)
    {
        var tokenizerPath = Path.Combine(directory, TokenizerFileName);
        var configPath = Path.Combine(directory, ConfigFileName);
        return Read(File.ReadAllBytes(tokenizerPath), File.Exists(configPath) ? File.ReadAllBytes(configPath) : null);
    }

    /// <summary>The largest token id a file may use (the largest real vocabularies are about 2^18; ids size arrays).</summary>
    public const int MaxTokenId = (1 << 24) - 1;

    /// <summary>
    /// Parses the two files. A file that is not JSON throws <see cref="JsonException"/>; JSON that is not a tokenizer
    /// (a missing or mistyped field, an id outside 0 … <see cref="MaxTokenId"/>, a malformed merge) throws
    /// <see cref="FormatException"/>; settings this code does not implement throw <see cref="NotSupportedException"/>.
    /// </summary>
    public static HfTokenizerFile Read(byte[] tokenizerJson, byte[]? configJson)
    {
        try
        {
            return ReadCore(tokenizerJson, configJson);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or ArgumentException)
        {
            throw new FormatException($"{TokenizerFileName} is not a tokenizer file this code reads: {e.Message}", e);
        }
    }

    /// <summary>A JSON string's text; JSON null (which <see cref="JsonElement.GetString"/> returns as null) is a file error.</summary>
    private static string Text(JsonElement value, string what) =>
        value.GetString() ?? throw new FormatException($"{TokenizerFileName}: {what} is null, not a string.");

    private static int TokenId(JsonElement value, string what)
    {
        var id = value.GetInt32();
        return id is >= 0 and <= MaxTokenId ? id : throw new FormatException($"{TokenizerFileName}: {what} has id {id}, outside 0 … {MaxTokenId}.");
    }

    private static HfTokenizerFile ReadCore(byte[] tokenizerJson, byte[]? configJson)
    {
        using var document = JsonDocument.Parse(tokenizerJson);
        var root = document.RootElement;
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var modelType) && modelType.GetString() != "BPE")
        {
            throw new NotSupportedException($"tokenizer.json model type '{modelType.GetString()}' is not supported; only byte-level BPE is.");
        }

        RequireEmpty(model, "continuing_subword_prefix");
        RequireEmpty(model, "end_of_word_suffix");
        if (model.TryGetProperty("byte_fallback", out var byteFallback) && byteFallback.ValueKind == JsonValueKind.True)
        {
            throw new NotSupportedException("BPE byte_fallback (SentencePiece-style) is not supported.");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = TokenId(entry.Value, $"vocabulary entry '{entry.Name}'");
        }

        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergesElement))
        {
            foreach (var merge in mergesElement.EnumerateArray())
            {
                if (merge.ValueKind == JsonValueKind.Array)
                {
                    merges.Add((Text(merge[0], "a merge"), Text(merge[1], "a merge")));
                }
                else
                {
                    var text = Text(merge, "a merge");
                    var space = text.Length < 3 ? -1 : text.IndexOf(' ', 1);
                    if (space < 0 || space == text.Length - 1)
                    {
                        throw new FormatException($"{TokenizerFileName}: merge '{text}' is not two tokens separated by a space.");
                    }

                    merges.Add((text[..space], text[(space + 1)..]));
                }
            }
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedElement))
        {
            foreach (var token in addedElement.EnumerateArray())
            {
                foreach (var flag in new[] { "lstrip", "rstrip", "single_word" })
                {
                    if (token.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.True)
                    {
                        throw new NotSupportedException($"Added token {token.GetProperty("content").GetString()} sets {flag}, which is not supported.");
                    }
                }

                added.Add(new AddedToken(
                    TokenId(token.GetProperty("id"), "an added token"),
                    Text(token.GetProperty("content"), "an added token's content"),
                    token.TryGetProperty("special", out var special) && special.GetBoolean()));
            }
        }

        var patterns = new List<string>();
        if (root.TryGetProperty("pre_tokenizer", out var preTokenizer) && preTokenizer.ValueKind == JsonValueKind.Object)
        {
            ReadPreTokenizer(preTokenizer, patterns);
        }

        var nfc = false;
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object)
        {
            nfc = ReadNormalizer(normalizer);
        }

        string? eos = null, pad = null;
        if (configJson is not null)
        {
            var config = JsonNode.Parse(configJson) as JsonObject ?? throw new FormatException($"{ConfigFileName} is not a JSON object.");
            eos = TokenString(config["eos_token"]);
            pad = TokenString(config["pad_token"]);
        }

        return new HfTokenizerFile
        {
            Vocab = vocab,
            Merges = merges,
            AddedTokens = added.OrderBy(t => t.Id).ToList(),
            SplitPatterns = patterns,
            NfcNormalize = nfc,
            IgnoreMerges = model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True,
            EosToken = eos,
            PadToken = pad,
        };
    }

    /// <summary>
    /// Writes a byte-level BPE <c>tokenizer.json</c> (the Hugging Face schema) and a <c>tokenizer_config.json</c>,
    /// so that this code, the <c>tokenizers</c> library and transformers.js read the directory alike.
    /// </summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var byteLevel = new JsonObject
        {
            ["type"] = "ByteLevel",
            ["add_prefix_space"] = false,
            ["trim_offsets"] = false,
            ["use_regex"] = false,
        };
        JsonNode preTokenizer = SplitPatterns.Count == 0
            ? byteLevel.DeepClone()
            : new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    [.. SplitPatterns.Select(p => (JsonNode)new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = p },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    }), byteLevel.DeepClone()]),
            };
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab.OrderBy(kv => kv.Value))
        {
            vocab[token] = id;
        }

        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. AddedTokens.Select(t => (JsonNode)new JsonObject
            {
                ["id"] = t.Id,
                ["content"] = t.Content,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = t.Special,
            })]),
            ["normalizer"] = NfcNormalize ? new JsonObject { ["type"] = "NFC" } : null,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = null,
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = IgnoreMerges,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. Merges.Select(m => (JsonNode)new JsonArray(m.Left, m.Right))]),
            },
        };

        var decoderEntries = new JsonObject();
        foreach (var token in AddedTokens)
        {
            decoderEntries[token.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = token.Content,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = token.Special,
            };
        }

        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["bos_token"] = null,
            ["eos_token"] = EosToken,
            ["pad_token"] = PadToken ?? EosToken,
            ["unk_token"] = null,
            ["clean_up_tokenization_spaces"] = false,
            ["split_special_tokens"] = false,
            ["added_tokens_decoder"] = decoderEntries,
        };

        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(directory, TokenizerFileName), tokenizer.ToJsonString(options) + "\n");
        File.WriteAllText(Path.Combine(directory, ConfigFileName), config.ToJsonString(options) + "\n");
    }

    private static void ReadPreTokenizer(JsonElement element, List<string> patterns)
    {
        var type = element.GetProperty("type").GetString();
        switch (type)
        {
            case "Sequence":
                foreach (var inner in element.GetProperty("pretokenizers").EnumerateArray())
                {
                    ReadPreTokenizer(inner, patterns);
                }

                break;
            case "Split":
                if (element.GetProperty("behavior").GetString() != "Isolated"
                    || (element.TryGetProperty("invert", out var invert) && invert.GetBoolean()))
                {
                    throw new NotSupportedException("Only Split pre-tokenizers with behavior 'Isolated' and invert false are supported.");
                }

                var pattern = element.GetProperty("pattern");
                patterns.Add(pattern.TryGetProperty("Regex", out var regex)
                    ? Text(regex, "a split pattern")
                    : System.Text.RegularExpressions.Regex.Escape(Text(pattern.GetProperty("String"), "a split pattern")));
                break;
            case "ByteLevel":
                if (element.TryGetProperty("add_prefix_space", out var prefix) && prefix.GetBoolean())
                {
                    throw new NotSupportedException("ByteLevel add_prefix_space is not supported.");
                }

                if (!element.TryGetProperty("use_regex", out var useRegex) || useRegex.GetBoolean())
                {
                    patterns.Add(Gpt2Pattern);
                }

                break;
            default:
                throw new NotSupportedException($"Pre-tokenizer '{type}' is not supported.");
        }
    }

    private static bool ReadNormalizer(JsonElement element)
    {
        var type = element.GetProperty("type").GetString();
        return type switch
        {
            "NFC" => true,
            "Sequence" => element.GetProperty("normalizers").EnumerateArray().Select(ReadNormalizer).Aggregate(false, (a, b) => a | b),
            _ => throw new NotSupportedException($"Normalizer '{type}' is not supported."),
        };
    }

    private static void RequireEmpty(JsonElement model, string property)
    {
        if (model.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0)
        {
            throw new NotSupportedException($"BPE {property} is not supported.");
        }
    }

    private static string? TokenString(JsonNode? node) => node switch
    {
        null => null,
        JsonValue value => value.GetValue<string>(),
        JsonObject obj => obj["content"]?.GetValue<string>(),
        _ => null,
    };
}
