using System.Text;
using System.Text.Json;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Tokenization;
using CsCheck;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>
/// Hostile tokenizer files as properties (CsCheck): a <c>tokenizer.json</c> made of random fragments, or a valid one cut,
/// spliced or with a value replaced, and a <c>generation_config.json</c> of random JSON, each load (and then encode and
/// decode any text) or fail with <see cref="JsonException"/>, <see cref="FormatException"/> or
/// <see cref="NotSupportedException"/> — never another exception, and never an allocation sized by a hostile id.
/// </summary>
public sealed class HostileTokenizerFileTests
{
    private static readonly Lazy<string> Valid = new(ValidTokenizerJson);

    private static readonly Gen<string> Values = Gen.OneOf(
        "-1", "0", "3", "2147483647", "16777216", "1e999", "3.5", "\"x\"", "\"a b\"", "\"\"", "\" \"", "null", "true", "[]", "{}",
        "[\"a\"]", "[\"a\",1]", "\"BPE\"", "\"WordPiece\"", "{\"type\":\"NFC\"}", "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"}}");

    private static readonly Gen<string> Fragments = Gen.OneOf(
        Gen.OneOf("{", "}", "[", "]", ",", ":", "\"model\"", "\"vocab\"", "\"merges\"", "\"added_tokens\"", "\"id\"", "\"content\"",
            "\"pre_tokenizer\"", "\"normalizer\"", "\"type\"", "\"byte_fallback\"", "\"ignore_merges\"", "\"special\"", " "),
        Values);

    [Fact]
    public void TokenizerJson_RandomFragments_LoadsOrFailsWithAFileError()
    {
        Gen.OneOf(Fragments.Array[0, 40].Select(string.Concat), Gen.String[0, 120]).Sample(json => Check(json, null), iter: 2000, threads: 1);
    }

    [Fact]
    public void TokenizerJson_AValidFileCutSplicedOrRewritten_LoadsOrFailsWithAFileError()
    {
        var valid = Valid.Value;
        var edits = Gen.Select(Gen.Int[0, 2], Gen.Int[0, valid.Length], Gen.Int[0, 40], Values, (kind, at, length, value) => kind switch
        {
            0 => valid[..at],   // cut short
            1 => string.Concat(valid.AsSpan(0, at), value, valid.AsSpan(Math.Min(valid.Length, at + length))),   // a span replaced
            _ => string.Concat(valid.AsSpan(0, at), valid.AsSpan(Math.Min(valid.Length, at + length))),   // a span deleted
        });
        Gen.Select(edits, Gen.OneOf("", "{}", "[]", "null", "{\"eos_token\":3}", "{\"eos_token\":{\"content\":1}}", "{\"pad_token\":\"<pad>\"}").Select(c => c.Length == 0 ? null : c), (json, config) => (json, config))
            .Sample(p => Check(p.json, p.config), iter: 3000, threads: 1);
    }

    [Fact]
    public void TokenizerJson_AHugeTokenId_IsRefusedBeforeAnythingIsSized()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(Valid.Value)!;
        node["model"]!["vocab"]!["ab"] = 2_000_000_000;
        var json = node.ToJsonString();

        var error = Assert.Throws<FormatException>(() => HfTokenizerFile.Read(Encoding.UTF8.GetBytes(json), null));
        Assert.Contains("2000000000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GenerationConfig_AnyJson_IsAConfigOrAJsonError()
    {
        var fragments = Gen.OneOf("{", "}", "[", "]", ",", ":", "\"eos_token_id\"", "\"temperature\"", "\"top_p\"", "\"max_new_tokens\"", "-1", "0",
            "1e999", "3.5", "\"x\"", "null", "true", "[1,2]", "[\"a\"]", " ");
        Gen.OneOf(fragments.Array[0, 30].Select(string.Concat), Gen.String[0, 100]).Sample(json =>
        {
            try
            {
                Assert.NotNull(GenerationConfig.Parse(json));
            }
            catch (JsonException)
            {
            }
        }, iter: 2000, threads: 1);
    }

    private static void Check(string json, string? config)
    {
        HfTokenizerFile file;
        BpeTokenizer tokenizer;
        try
        {
            file = HfTokenizerFile.Read(Encoding.UTF8.GetBytes(json), config is null ? null : Encoding.UTF8.GetBytes(config));
            tokenizer = new BpeTokenizer(file);
        }
        catch (Exception e) when (e is JsonException or FormatException or NotSupportedException)
        {
            return;
        }

        foreach (var text in new[] { "", "ab cd", "abab<|end|>", "é\u0301 \ud83d\ude00", "\ud800" })
        {
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
            Assert.NotNull(tokenizer.Decode(ids));
        }
    }

    /// <summary>A small byte-level BPE file: the 256 byte tokens, two merges, one added token.</summary>
    private static string ValidTokenizerJson()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.ByteToChar((byte)b).ToString()] = b;
        }

        vocab["ab"] = 256;
        vocab["abab"] = 257;
        var file = new HfTokenizerFile
        {
            Vocab = vocab,
            Merges = [("a", "b"), ("ab", "ab")],
            AddedTokens = [new AddedToken(258, "<|end|>", true), new AddedToken(259, "<|endoftext|>", true)],
            SplitPatterns = [HfTokenizerFile.Gpt2Pattern],
        };
        var dir = Path.Combine(Path.GetTempPath(), "agentrl-tok-" + Guid.NewGuid().ToString("N"));
        try
        {
            file.Save(dir);
            return File.ReadAllText(Path.Combine(dir, HfTokenizerFile.TokenizerFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
