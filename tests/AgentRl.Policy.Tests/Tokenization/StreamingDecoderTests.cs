using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    private readonly ByteLevelTokenizer _tokenizer = new();

    [Fact]
    public void Push_BytesOfOneEmoji_HoldsTextBackUntilTheCharacterIsComplete()
    {
        var decoder = _tokenizer.CreateStreamingDecoder();
        var ids = _tokenizer.Encode("a😀b");
        var pieces = ids.Select(decoder.Push).ToList();
        Assert.Equal(["a", "", "", "", "😀", "b"], pieces);
        Assert.Equal("a😀b", decoder.Text);
    }

    [Fact]
    public void Push_RandomTextOneIdAtATime_ConcatenatesToTheFullDecode()
    {
        foreach (var text in TextSamples.Random(seed: 3, count: 100, maxLength: 50))
        {
            var decoder = _tokenizer.CreateStreamingDecoder();
            var streamed = string.Concat(_tokenizer.Encode(text).Select(decoder.Push)) + decoder.Flush();
            Assert.Equal(text, streamed);
        }
    }

    [Fact]
    public void Flush_AfterHalfACharacter_GivesReplacementCharacter()
    {
        var decoder = _tokenizer.CreateStreamingDecoder();
        foreach (var id in _tokenizer.Encode("😀").Take(2))
        {
            decoder.Push(id);
        }

        Assert.Equal("", decoder.Text);
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    [Fact]
    public void EndsWithAny_StopStringJustCompleted_ReportsIt()
    {
        var decoder = _tokenizer.CreateStreamingDecoder(skipSpecial: true);
        string? matched = null;
        var stopAt = -1;
        var ids = _tokenizer.Encode("x <|end|>ok</answer> more");
        for (var i = 0; i < ids.Length && stopAt < 0; i++)
        {
            decoder.Push(ids[i]);
            if (decoder.EndsWithAny(["</answer>", "STOP"], out matched))
            {
                stopAt = i;
            }
        }

        Assert.Equal("</answer>", matched);
        Assert.Equal("x ok</answer>", decoder.Text);
    }
}
