using System.Text;

namespace AgentRl.Policy.Tokenization;

/// <summary>
/// Decodes ids as they are generated. Bytes of a UTF-8 sequence that is not complete yet are held back and come out
/// with the token that completes them, so stop-string checks on <see cref="Text"/> never see half a character.
/// Not thread-safe: one per generation stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecial;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly StringBuilder _text = new();
    private char[] _buffer = new char[64];

    public StreamingDecoder(ITokenizer tokenizer, bool skipSpecial = false)
    {
        _tokenizer = tokenizer;
        _skipSpecial = skipSpecial;
    }

    /// <summary>All text decoded so far (complete characters only).</summary>
    public string Text => _text.ToString();

    /// <summary>Length of <see cref="Text"/>.</summary>
    public int Length => _text.Length;

    /// <summary>Adds one id and returns the text it completed (empty while a UTF-8 sequence is still open).</summary>
    public string Push(int id)
    {
        if (_skipSpecial && _tokenizer.IsSpecial(id))
        {
            return string.Empty;
        }

        return Append(_tokenizer.TokenBytes(id), flush: false);
    }

    /// <summary>Ends the stream: bytes of an unfinished sequence come out as U+FFFD.</summary>
    public string Flush() => Append([], flush: true);

    /// <summary>Whether <see cref="Text"/> ends with one of <paramref name="values"/> (the first that does is <paramref name="matched"/>).</summary>
    public bool EndsWithAny(IReadOnlyList<string> values, out string? matched)
    {
        foreach (var value in values)
        {
            if (value.Length > 0 && _text.Length >= value.Length && EndsWith(value))
            {
                matched = value;
                return true;
            }
        }

        matched = null;
        return false;
    }

    private bool EndsWith(string value)
    {
        var offset = _text.Length - value.Length;
        for (var i = 0; i < value.Length; i++)
        {
            if (_text[offset + i] != value[i])
            {
                return false;
            }
        }

        return true;
    }

    private string Append(ReadOnlySpan<byte> bytes, bool flush)
    {
        var needed = _utf8.GetCharCount(bytes, flush);
        if (needed > _buffer.Length)
        {
            _buffer = new char[Math.Max(needed, _buffer.Length * 2)];
        }

        var count = _utf8.GetChars(bytes, _buffer, flush);
        if (count == 0)
        {
            return string.Empty;
        }

        var piece = new string(_buffer, 0, count);
        _text.Append(piece);
        return piece;
    }
}
