using System.Security.Cryptography;

namespace AgentRl.Policy.Tokenization;

/// <summary>
/// A tokenizer's id for sharing experience between policies: a hash of its vocabulary (every id's bytes and special
/// flag), its EOS and padding ids, and the ids it gives a fixed set of probe texts (which catch differing merges). Equal
/// fingerprints mean the same text gives the same ids, so behaviour logprobs of one policy can be paired with another's tokens.
/// </summary>
public static class TokenizerFingerprint
{
    private static readonly string[] Probes =
    [
        "The quick brown fox jumps over the lazy dog. 0123456789 + - * / = ( ) [ ] { } \" ' :",
        "<answer>42</answer> <tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"(3 + 4) * 5\"}}</tool_call>",
        "  leading spaces, tabs\tand\nnew lines; ünïcödé, 中文, emoji 🙂, and repeated aaaaaaaa bbbb",
    ];

    public static string Of(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[4];
        void Int(int value)
        {
            BitConverter.TryWriteBytes(number, value);
            hash.AppendData(number);
        }

        Int(tokenizer.VocabSize);
        Int(tokenizer.EosId);
        Int(tokenizer.PadId);
        for (var id = 0; id < tokenizer.VocabSize; id++)
        {
            var bytes = tokenizer.TokenBytes(id);
            Int(bytes.Length);
            hash.AppendData(bytes);
            Int(tokenizer.IsSpecial(id) ? 1 : 0);
        }

        foreach (var probe in Probes)
        {
            foreach (var id in tokenizer.Encode(probe, allowSpecial: false))
            {
                Int(id);
            }

            Int(-1);
        }

        return Convert.ToHexString(hash.GetHashAndReset().AsSpan(0, 16)).ToLowerInvariant();
    }

    /// <summary>The fingerprint, with the tokenizer kind in front for people reading pool status (<c>byte-level:…</c>).</summary>
    public static string Describe(ITokenizer tokenizer) =>
        (tokenizer is ByteLevelTokenizer ? "byte-level:" : "bpe:") + Of(tokenizer);
}
