using System.Text;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Chat;

/// <summary>
/// A rendering as a run of special tokens and text. Encoding turns each special token into its id and each stretch
/// of text between special tokens into ids with special tokens not allowed — so message content can never inject a
/// turn marker, and every cut between pieces of an incremental rendering falls on a special token, where BPE merges
/// cannot cross.
/// </summary>
internal sealed class TemplatePieces
{
    private readonly List<(string Text, bool Special)> _pieces = [];

    public TemplatePieces Special(string token)
    {
        _pieces.Add((token, true));
        return this;
    }

    public TemplatePieces Text(string text)
    {
        if (text.Length > 0)
        {
            _pieces.Add((text, false));
        }

        return this;
    }

    public string Render()
    {
        var builder = new StringBuilder();
        foreach (var (text, _) in _pieces)
        {
            builder.Append(text);
        }

        return builder.ToString();
    }

    public int[] Encode(ITokenizer tokenizer)
    {
        var ids = new List<int>();
        var text = new StringBuilder();
        foreach (var (piece, special) in _pieces)
        {
            if (!special)
            {
                text.Append(piece);
                continue;
            }

            Flush();
            ids.Add(tokenizer.TokenToId(piece) is { } id && tokenizer.IsSpecial(id)
                ? id
                : throw new InvalidOperationException($"The tokenizer has no special token '{piece}' that the chat template needs."));
        }

        Flush();
        return [.. ids];

        void Flush()
        {
            if (text.Length > 0)
            {
                ids.AddRange(tokenizer.Encode(text.ToString(), allowSpecial: false));
                text.Clear();
            }
        }
    }
}
