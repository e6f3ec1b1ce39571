using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentRl.Tasks.Rewards;

/// <summary>Pure helpers the rewards share: answer-tag extraction, integer parsing, SQuAD normalisation and F1.</summary>
public static partial class AnswerText
{
    public const string OpenTag = "<answer>";
    public const string CloseTag = "</answer>";

    /// <summary>Wraps an answer in the answer tags.</summary>
    public static string Tag(string answer) => OpenTag + answer + CloseTag;

    /// <summary>
    /// The content of the last complete <c>&lt;answer&gt;…&lt;/answer&gt;</c> (trimmed), or null when there is none.
    /// <paramref name="wellFormed"/> is true only for exactly one open tag, one close tag after it and non-empty content.
    /// </summary>
    public static string? Extract(string text, out bool wellFormed)
    {
        ArgumentNullException.ThrowIfNull(text);
        var opens = Count(text, OpenTag);
        var closes = Count(text, CloseTag);
        var close = text.LastIndexOf(CloseTag, StringComparison.Ordinal);
        var open = close < 0 ? -1 : text.LastIndexOf(OpenTag, close, StringComparison.Ordinal);
        if (open < 0)
        {
            wellFormed = false;
            return null;
        }

        var content = text[(open + OpenTag.Length)..close].Trim();
        wellFormed = opens == 1 && closes == 1 && content.Length > 0;
        return content.Length == 0 ? null : content;
    }

    /// <summary>Parses an integer answer: surrounding spaces, thousands separators, a leading '+', a trailing '.' or '.0' are allowed.</summary>
    public static bool TryParseInteger(string? text, out long value)
    {
        value = 0;
        if (text is null)
        {
            return false;
        }

        var s = text.Trim().Replace(",", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (s.EndsWith(".0", StringComparison.Ordinal))
        {
            s = s[..^2];
        }
        else if (s.EndsWith('.'))
        {
            s = s[..^1];
        }

        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>SQuAD normalisation: lowercase, punctuation removed, articles (a, an, the) removed, whitespace collapsed.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            if (!char.IsPunctuation(c) && !char.IsSymbol(c))
            {
                builder.Append(c);
            }
        }

        var noArticles = Articles().Replace(builder.ToString(), " ");
        return string.Join(' ', noArticles.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Exact match after <see cref="Normalize"/>.</summary>
    public static bool ExactMatch(string prediction, string reference) => Normalize(prediction) == Normalize(reference);

    /// <summary>SQuAD token F1 after <see cref="Normalize"/>: harmonic mean of token precision and recall (bag of tokens).</summary>
    public static double TokenF1(string prediction, string reference)
    {
        var predicted = Normalize(prediction).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var truth = Normalize(reference).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (predicted.Length == 0 || truth.Length == 0)
        {
            return predicted.Length == truth.Length ? 1.0 : 0.0;
        }

        var remaining = truth.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var common = 0;
        foreach (var token in predicted)
        {
            if (remaining.TryGetValue(token, out var n) && n > 0)
            {
                remaining[token] = n - 1;
                common++;
            }
        }

        if (common == 0)
        {
            return 0.0;
        }

        var precision = (double)common / predicted.Length;
        var recall = (double)common / truth.Length;
        return 2 * precision * recall / (precision + recall);
    }

    private static int Count(string text, string tag)
    {
        var count = 0;
        for (var i = text.IndexOf(tag, StringComparison.Ordinal); i >= 0; i = text.IndexOf(tag, i + tag.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();
}
