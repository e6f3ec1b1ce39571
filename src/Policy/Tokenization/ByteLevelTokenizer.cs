using System.Text;

namespace AgentRl.Policy.Tokenization;

/// <summary>
/// The tokenizer of tiny models: ids 0–255 are the bytes of the UTF-8 text, ids from 256 on are added tokens
/// (turn markers and tool tags), matched leftmost-longest in the text. Round trips exactly on any text. Saved as a
/// Hugging Face byte-level BPE <c>tokenizer.json</c> with no merges, so <see cref="BpeTokenizer"/> and the Hugging
/// Face libraries read the same directory and give the same ids.
/// </summary>
public sealed class ByteLevelTokenizer : ITokenizer
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>
    /// The default added tokens: end of text, turn markers (ChatML and the compact template's), Hermes tool tags,
    /// the ARPO tags. Tokens written <c>&lt;|…|&gt;</c> are special; tags are not (they are decoded even when
    /// skipping special tokens, since tool-call parsing reads them).
    /// </summary>
    public static IReadOnlyList<string> DefaultAddedTokens { get; } =
    [
        EndOfText, "<|im_start|>", "<|im_end|>",
        "<|system|>", "<|user|>", "<|assistant|>", "<|end|>",
        "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
        "<think>", "</think>", "<answer>", "</answer>",
        "<python>", "</python>", "<search>", "</search>", "<result>", "</result>",
    ];

    private readonly byte[][] _idToBytes;
    private readonly Dictionary<string, int> _addedIds;
    private readonly AddedTokenMatcher _matcher;

    /// <param name="addedTokens">Added tokens in id order from 256; <c>&lt;|…|&gt;</c> ones are special.</param>
    /// <param name="eosToken">The end-of-sequence token; must be one of <paramref name="addedTokens"/>.</param>
    /// <param name="padToken">The padding token; the EOS token when null.</param>
    public ByteLevelTokenizer(IReadOnlyList<string>? addedTokens = null, string eosToken = EndOfText, string? padToken = null)
    {
        addedTokens ??= DefaultAddedTokens;
        if (addedTokens.Distinct(StringComparer.Ordinal).Count() != addedTokens.Count || addedTokens.Any(t => t.Length == 0))
        {
            throw new ArgumentException("Added tokens must be distinct and non-empty.", nameof(addedTokens));
        }

        AddedTokens = [.. addedTokens.Select((content, i) => new AddedToken(256 + i, content, IsSpecialForm(content)))];
        VocabSize = 256 + AddedTokens.Count;
        _idToBytes = new byte[VocabSize][];
        for (var b = 0; b < 256; b++)
        {
            _idToBytes[b] = [(byte)b];
        }

        _addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in AddedTokens)
        {
            _idToBytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            _addedIds[token.Content] = token.Id;
        }

        _matcher = new AddedTokenMatcher(AddedTokens);
        EosId = _addedIds.TryGetValue(eosToken, out var eos)
            ? eos
            : throw new ArgumentException($"EOS token '{eosToken}' is not an added token.", nameof(eosToken));
        PadId = padToken is null ? EosId
            : _addedIds.TryGetValue(padToken, out var pad) ? pad
            : throw new ArgumentException($"Pad token '{padToken}' is not an added token.", nameof(padToken));
    }

    public int VocabSize { get; }
    public int EosId { get; }
    public int PadId { get; }
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Whether a token is special by its form: <c>&lt;|…|&gt;</c>.</summary>
    public static bool IsSpecialForm(string content) => content.StartsWith("<|", StringComparison.Ordinal) && content.EndsWith("|>", StringComparison.Ordinal);

    public int[] Encode(string text, bool allowSpecial = true)
    {
        var ids = new List<int>(text.Length + 4);
        Span<byte> buffer = stackalloc byte[256];
        foreach (var segment in _matcher.Split(text, allowSpecial))
        {
            if (segment.Id >= 0)
            {
                ids.Add(segment.Id);
                continue;
            }

            var chars = text.AsSpan(segment.Start, segment.Length);
            var bytes = Encoding.UTF8.GetMaxByteCount(chars.Length) <= buffer.Length
                ? buffer[..Encoding.UTF8.GetBytes(chars, buffer)]
                : Encoding.UTF8.GetBytes(chars.ToArray());
            foreach (var b in bytes)
            {
                ids.Add(b);
            }
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>(ids.Length);
        foreach (var id in ids)
        {
            if (!(skipSpecial && IsSpecial(id)))
            {
                bytes.AddRange(TokenBytes(id));
            }
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    public ReadOnlySpan<byte> TokenBytes(int id) =>
        (uint)id < (uint)VocabSize
            ? _idToBytes[id]
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"No token has id {id} (vocabulary size {VocabSize}).");

    public int? TokenToId(string token)
    {
        if (_addedIds.TryGetValue(token, out var id))
        {
            return id;
        }

        return token.Length == 1 && ByteLevelAlphabet.CharToByte(token[0]) is var b and >= 0 ? b : null;
    }

    public string? IdToToken(int id) => id switch
    {
        >= 0 and < 256 => ByteLevelAlphabet.ByteToChar((byte)id).ToString(),
        _ when id < VocabSize && id >= 256 => AddedTokens[id - 256].Content,
        _ => null,
    };

    public bool IsSpecial(int id) => id >= 256 && id < VocabSize && AddedTokens[id - 256].Special;

    /// <summary>The Hugging Face form of this tokenizer: byte-level BPE, 256 byte entries, no merges, the added tokens.</summary>
    public HfTokenizerFile ToHfFile() => new()
    {
        Vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.ByteToChar((byte)b).ToString(), b => b, StringComparer.Ordinal),
        Merges = [],
        AddedTokens = AddedTokens,
        SplitPatterns = [],
        EosToken = AddedTokens[EosId - 256].Content,
        PadToken = AddedTokens[PadId - 256].Content,
    };

    /// <summary>Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c> into <paramref name="directory"/>.</summary>
    public void Save(string directory) => ToHfFile().Save(directory);

    /// <summary>Reads a directory written by <see cref="Save"/> (or any byte-level BPE with no merges and ids 0–255 = bytes).</summary>
    public static ByteLevelTokenizer Load(string directory) =>
        TryFrom(HfTokenizerFile.Load(directory))
        ?? throw new NotSupportedException($"{Path.Combine(directory, HfTokenizerFile.TokenizerFileName)} is not a byte-level tokenizer (256 byte ids, no merges, added tokens from 256).");

    /// <summary>The byte-level tokenizer a Hugging Face file describes, or null when it describes something else.</summary>
    public static ByteLevelTokenizer? TryFrom(HfTokenizerFile file)
    {
        var isBytes = file.Merges.Count == 0 && file.Vocab.Count == 256 && !file.NfcNormalize
            && file.Vocab.All(kv => kv.Key.Length == 1 && ByteLevelAlphabet.CharToByte(kv.Key[0]) == kv.Value);
        var addedInOrder = file.AddedTokens.Select((t, i) => t.Id == 256 + i && t.Special == IsSpecialForm(t.Content)).All(ok => ok);
        if (!isBytes || !addedInOrder)
        {
            return null;
        }

        var tokens = file.AddedTokens.Select(t => t.Content).ToList();
        return new ByteLevelTokenizer(tokens, file.EosToken ?? EndOfText, file.PadToken);
    }
}

/// <summary>Loads whichever tokenizer a model directory holds.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// Reads <c>tokenizer.json</c> (+ <c>tokenizer_config.json</c>) from <paramref name="directory"/>: a
    /// <see cref="ByteLevelTokenizer"/> when the file describes one, a <see cref="BpeTokenizer"/> otherwise.
    /// </summary>
    public static ITokenizer Load(string directory)
    {
        var file = HfTokenizerFile.Load(directory);
        return (ITokenizer?)ByteLevelTokenizer.TryFrom(file) ?? new BpeTokenizer(file);
    }
}
