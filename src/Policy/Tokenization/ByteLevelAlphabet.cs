namespace AgentRl.Policy.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ printable character map used by byte-level BPE vocabularies (Hugging Face
/// <c>ByteLevel</c> pre-tokenizer and decoder): printable Latin-1 bytes map to themselves, the other 68 bytes to
/// U+0100 onwards, so that every vocabulary entry is a plain string.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly short[] CharToByteTable = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char ByteToChar(byte value) => ByteToCharTable[value];

    /// <summary>The byte a vocabulary character stands for, or -1 when it is not in the alphabet.</summary>
    public static int CharToByte(char value) => value < CharToByteTable.Length ? CharToByteTable[value] : -1;

    /// <summary>The byte-level string of raw bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                chars[i] = ByteToCharTable[source[i]];
            }
        });
    }

    /// <summary>The raw bytes of a byte-level string, or null when it holds a character outside the alphabet.</summary>
    public static byte[]? TryDecode(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            var value = CharToByte(token[i]);
            if (value < 0)
            {
                return null;
            }

            bytes[i] = (byte)value;
        }

        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }

    private static short[] BuildCharToByte()
    {
        var table = new short[324];
        Array.Fill(table, (short)-1);
        for (var b = 0; b < 256; b++)
        {
            table[ByteToCharTable[b]] = (short)b;
        }

        return table;
    }
}
