namespace AgentRl.Policy.Tokenization;

/// <summary>
/// A token added on top of the model's vocabulary (Hugging Face <c>added_tokens</c>): matched as a whole in text
/// before the model's own tokenization. <see cref="Special"/> tokens (turn markers, end of text) are matched only
/// when the caller allows special tokens and are dropped by <c>Decode(…, skipSpecial: true)</c>; non-special added
/// tokens (<c>&lt;tool_call&gt;</c> in Qwen) are always matched and always decoded.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// Text ↔ token ids for a policy. Implementations are immutable after construction and safe to share between
/// threads. Decoding never throws on ids that cut a UTF-8 sequence: the broken bytes decode to U+FFFD, and
/// <see cref="StreamingDecoder"/> holds them back until the sequence completes.
/// </summary>
public interface ITokenizer
{
    /// <summary>Largest token id plus one (the model's embedding table may be larger).</summary>
    int VocabSize { get; }

    /// <summary>The end-of-sequence id (Hugging Face <c>eos_token</c>).</summary>
    int EosId { get; }

    /// <summary>The padding id (Hugging Face <c>pad_token</c>, the EOS id when the tokenizer names none).</summary>
    int PadId { get; }

    /// <summary>Added tokens in id order.</summary>
    IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>
    /// Token ids of <paramref name="text"/>. With <paramref name="allowSpecial"/> false, special tokens written in the
    /// text are tokenized as plain text (use it for untrusted text such as tool output).
    /// </summary>
    int[] Encode(string text, bool allowSpecial = true);

    /// <summary>The text of <paramref name="ids"/>; invalid or incomplete UTF-8 becomes U+FFFD.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false);

    /// <summary>The raw bytes a token stands for (an added token: the UTF-8 of its content).</summary>
    ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>The id of a vocabulary entry or added token by its string form, or null.</summary>
    int? TokenToId(string token);

    /// <summary>The string form of an id (the vocabulary entry, byte-level encoded for BPE models), or null.</summary>
    string? IdToToken(int id);

    /// <summary>Whether <paramref name="id"/> is an added token flagged special.</summary>
    bool IsSpecial(int id);
}

public static class TokenizerExtensions
{
    /// <summary>A decoder for ids arriving one at a time during generation.</summary>
    public static StreamingDecoder CreateStreamingDecoder(this ITokenizer tokenizer, bool skipSpecial = false) => new(tokenizer, skipSpecial);
}
