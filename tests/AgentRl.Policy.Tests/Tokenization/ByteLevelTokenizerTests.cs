using System.Text;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

public sealed class ByteLevelTokenizerTests
{
    private readonly ByteLevelTokenizer _tokenizer = new();

    [Fact]
    public void EncodeDecode_RandomUnicodeWithSurrogatePairs_RoundTripsExactly()
    {
        foreach (var text in TextSamples.Random(seed: 7, count: 500, maxLength: 80))
        {
            foreach (var allowSpecial in new[] { true, false })
            {
                var ids = _tokenizer.Encode(text, allowSpecial);
                Assert.Equal(text, _tokenizer.Decode(ids));
            }
        }
    }

    [Fact]
    public void Encode_PlainText_GivesItsUtf8Bytes()
    {
        const string text = "añ😀";
        var expected = Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
        Assert.Equal(expected, _tokenizer.Encode(text));
        Assert.Equal(7, expected.Length);
    }

    [Fact]
    public void Encode_SpecialTokensAllowed_GivesOneIdPerToken()
    {
        var ids = _tokenizer.Encode("<|user|>hi<|end|><tool_call>");
        Assert.Equal(
            [_tokenizer.TokenToId("<|user|>")!.Value, 'h', 'i', _tokenizer.TokenToId("<|end|>")!.Value, _tokenizer.TokenToId("<tool_call>")!.Value],
            ids);
    }

    [Fact]
    public void Encode_SpecialTokensNotAllowed_KeepsSpecialAsBytesButMatchesTags()
    {
        var ids = _tokenizer.Encode("<|end|><tool_call>", allowSpecial: false);
        var expected = Encoding.UTF8.GetBytes("<|end|>").Select(b => (int)b).Append(_tokenizer.TokenToId("<tool_call>")!.Value);
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Encode_OverlappingAddedTokens_TakesLeftmostLongest()
    {
        var tokenizer = new ByteLevelTokenizer(["<|endoftext|>", "<a>", "<a>b", "a>b"]);
        var ids = tokenizer.Encode("x<a>b<a>c");
        Assert.Equal(['x', 258, 257, 'c'], ids);
    }

    [Fact]
    public void Decode_SkipSpecial_DropsTurnMarkersKeepsToolTags()
    {
        var ids = _tokenizer.Encode("<|assistant|>ok<tool_call>x</tool_call><|end|><|endoftext|>");
        Assert.Equal("ok<tool_call>x</tool_call>", _tokenizer.Decode(ids, skipSpecial: true));
    }

    [Fact]
    public void Decode_IdsEndingMidCharacter_GivesReplacementInsteadOfThrowing()
    {
        var ids = _tokenizer.Encode("a😀");
        Assert.Equal("a\uFFFD", _tokenizer.Decode(ids.AsSpan(0, 3)));
    }

    [Fact]
    public void VocabSize_DefaultTokens_FitsTinyModelConfig()
    {
        Assert.Equal(256 + ByteLevelTokenizer.DefaultAddedTokens.Count, _tokenizer.VocabSize);
        Assert.True(_tokenizer.VocabSize <= ModelConfig.Tiny.VocabSize, $"{_tokenizer.VocabSize} > {ModelConfig.Tiny.VocabSize}");
        Assert.Equal(256, _tokenizer.EosId);
        Assert.Equal(_tokenizer.EosId, _tokenizer.PadId);
    }

    [Fact]
    public void SaveLoad_TokenizerDirectory_ReadsBackSameTokenizerThroughBothLoaders()
    {
        var dir = Directory.CreateTempSubdirectory("agentrl-tok-").FullName;
        try
        {
            var custom = new ByteLevelTokenizer([.. ByteLevelTokenizer.DefaultAddedTokens, "<|pad|>"], padToken: "<|pad|>");
            custom.Save(dir);
            var loaded = ByteLevelTokenizer.Load(dir);
            var viaBpe = new BpeTokenizer(HfTokenizerFile.Load(dir));
            Assert.IsType<ByteLevelTokenizer>(TokenizerLoader.Load(dir));
            Assert.Equal(custom.AddedTokens, loaded.AddedTokens);
            Assert.Equal(custom.PadId, loaded.PadId);
            Assert.Equal(custom.PadId, viaBpe.PadId);
            Assert.Equal(custom.EosId, viaBpe.EosId);
            Assert.Equal(custom.VocabSize, viaBpe.VocabSize);
            foreach (var text in TextSamples.Random(seed: 11, count: 200, maxLength: 60).Concat(TextSamples.Varied))
            {
                var ids = custom.Encode(text);
                Assert.Equal(ids, loaded.Encode(text));
                Assert.Equal(ids, viaBpe.Encode(text));
                Assert.Equal(text, viaBpe.Decode(ids));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SavedTokenizerJson_ReadByTransformersJs_GivesSameIds()
    {
        var dir = Directory.CreateTempSubdirectory("agentrl-tok-").FullName;
        try
        {
            _tokenizer.Save(dir);
            var texts = TextSamples.Varied.Concat(TextSamples.Random(seed: 5, count: 50, maxLength: 40)).ToList();
            var reference = NodeReference.Encode(texts, dir);
            for (var i = 0; i < texts.Count; i++)
            {
                Assert.True(reference.Ids[i].SequenceEqual(_tokenizer.Encode(texts[i])), $"ids differ for text #{i}: {texts[i]}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
