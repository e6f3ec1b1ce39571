namespace AgentRl.Policy.Tokenization;

/// <summary>
/// Splits text at added tokens, leftmost-longest (as Hugging Face's added-vocabulary matcher does): scanning left to
/// right, the longest added token that starts at the first possible position wins.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstCharNonSpecial;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        var list = tokens.Where(t => t.Content.Length > 0).ToList();
        _byFirstChar = Index(list);
        _byFirstCharNonSpecial = Index(list.Where(t => !t.Special));
    }

    /// <summary>A run of text: either an added token (<c>Id</c> ≥ 0) or plain text to tokenize (<c>Id</c> = -1).</summary>
    public readonly record struct Segment(int Start, int Length, int Id);

    public List<Segment> Split(string text, bool allowSpecial)
    {
        var index = allowSpecial ? _byFirstChar : _byFirstCharNonSpecial;
        var segments = new List<Segment>();
        var plainStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (index.TryGetValue(text[i], out var candidates) && Match(text, i, candidates) is { } hit)
            {
                if (i > plainStart)
                {
                    segments.Add(new Segment(plainStart, i - plainStart, -1));
                }

                segments.Add(new Segment(i, hit.Content.Length, hit.Id));
                i += hit.Content.Length;
                plainStart = i;
            }
            else
            {
                i++;
            }
        }

        if (text.Length > plainStart)
        {
            segments.Add(new Segment(plainStart, text.Length - plainStart, -1));
        }

        return segments;
    }

    private static (string Content, int Id)? Match(string text, int position, (string Content, int Id)[] candidates)
    {
        // Candidates are sorted longest first, so the first match is the longest.
        foreach (var candidate in candidates)
        {
            if (position + candidate.Content.Length <= text.Length
                && string.CompareOrdinal(text, position, candidate.Content, 0, candidate.Content.Length) == 0)
            {
                return candidate;
            }
        }

        return null;
    }

    private static Dictionary<char, (string Content, int Id)[]> Index(IEnumerable<AddedToken> tokens) =>
        tokens
            .GroupBy(t => t.Content[0])
            .ToDictionary(
                g => g.Key,
                g => g.OrderByDescending(t => t.Content.Length).Select(t => (t.Content, t.Id)).ToArray());
}
