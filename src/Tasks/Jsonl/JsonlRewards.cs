using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Configuration;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.Jsonl;

/// <summary>
/// Rewards of the <c>jsonl</c> task. The final answer is the content of the answer tag (<see cref="AnswerText.Extract"/>);
/// <c>correctness</c> is 1 when it matches the item's answer by the chosen kind:
/// <list type="bullet">
/// <item><c>exact</c>: equal after SQuAD normalisation (lowercase, punctuation and the articles a/an/the removed, spaces collapsed);</item>
/// <item><c>numeric</c>: both are numbers (spaces, ',' thousands separators, a leading '+' allowed) with
///   |answer − truth| ≤ max(tolerance, relativeTolerance · |truth|);</item>
/// <item><c>f1</c>: as exact, and the part <c>f1</c> (SQuAD token F1) is what the correctness weight multiplies;</item>
/// <item><c>regex</c>: the item's answer is a .NET regular expression that must match the whole final answer (case-sensitive; 100 ms limit);</item>
/// <item><c>contains</c>: after normalisation, the item's answer appears in the final answer as a run of whole words.</item>
/// </list>
/// <c>format</c> checks the answer tag. <c>tool_use</c>: with tools allowed, 1 when at least one allowed tool was called with a
/// JSON object of arguments and no other tool was called; with none allowed, 1 unless a tool was called.
/// Score = correctnessWeight · (f1 for <c>f1</c>, else correctness) + formatWeight · format + toolUseWeight · tool_use.
/// </summary>
public static class JsonlRewards
{
    public const string Exact = "exact";
    public const string Numeric = "numeric";
    public const string F1 = "f1";
    public const string Regex = "regex";
    public const string Contains = "contains";

    /// <summary>Every reward kind, as <c>taskOptions.reward</c> names it.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [Exact, Numeric, F1, Regex, Contains];

    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>The kind named <paramref name="name"/> (case-insensitive); <see cref="ArgumentException"/> naming the kinds otherwise.</summary>
    public static string Parse(string? name) =>
        Kinds.FirstOrDefault(k => string.Equals(k, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"reward '{name}' is not known; expected one of {string.Join(", ", Kinds)}.{NameSuggestions.DidYouMean(name ?? "", Kinds)}");

    /// <summary>Why <paramref name="answer"/> cannot be a reference answer of kind <paramref name="kind"/>, or null.</summary>
    public static string? AnswerProblem(string kind, string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (answer.Trim().Length == 0)
        {
            return "\"answer\" is empty";
        }

        switch (kind)
        {
            case Numeric:
                return TryParseNumber(answer, out _) ? null : $"answer '{answer}' is not a number (reward=numeric)";
            case Regex:
                try
                {
                    _ = new System.Text.RegularExpressions.Regex(answer, RegexOptions.CultureInvariant, RegexTimeout);
                    return null;
                }
                catch (ArgumentException e)
                {
                    return $"answer '{answer}' is not a valid regular expression (reward=regex): {e.Message}";
                }

            default:
                return AnswerText.Normalize(answer).Length == 0
                    ? $"answer '{answer}' is empty after normalisation (lowercase, punctuation and articles removed); use reward=regex to match it literally"
                    : null;
        }
    }

    /// <summary>Scores a finished conversation on an item (see the type's summary).</summary>
    public static RewardResult Score(
        TaskItem item, FinishedConversation conversation, string kind, RewardWeights weights, IReadOnlyList<string> allowedTools, double tolerance = 1e-6, double relativeTolerance = 0)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(allowedTools);
        var extracted = AnswerText.Extract(conversation.FinalText, out var wellFormed);
        var correctness = extracted is not null && Correct(kind, extracted, item.Answer, tolerance, relativeTolerance) ? 1.0 : 0.0;
        var format = wellFormed ? 1.0 : 0.0;
        var toolUse = ToolUse(conversation, allowedTools);
        var parts = new Dictionary<string, double>
        {
            [RewardParts.Correctness] = correctness,
            [RewardParts.Format] = format,
            [RewardParts.ToolUse] = toolUse,
        };
        var scored = correctness;
        if (kind == F1)
        {
            scored = parts[RewardParts.F1] = extracted is null ? 0.0 : AnswerText.TokenF1(extracted, item.Answer);
        }

        return new RewardResult(weights.Combine(scored, format, toolUse), parts);
    }

    /// <summary>Whether <paramref name="prediction"/> (the answer tag's content) matches <paramref name="reference"/> by <paramref name="kind"/>.</summary>
    public static bool Correct(string kind, string prediction, string reference, double tolerance = 1e-6, double relativeTolerance = 0)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(reference);
        switch (kind)
        {
            case Exact or F1:
                return AnswerText.ExactMatch(prediction, reference);
            case Numeric:
                return TryParseNumber(prediction, out var p) && TryParseNumber(reference, out var t)
                    && Math.Abs(p - t) <= Math.Max(tolerance, relativeTolerance * Math.Abs(t));
            case Regex:
                try
                {
                    return System.Text.RegularExpressions.Regex.IsMatch(prediction, @"\A(?:" + reference + @")\z", RegexOptions.CultureInvariant, RegexTimeout);
                }
                catch (RegexMatchTimeoutException)
                {
                    return false;
                }

            case Contains:
                var words = AnswerText.Normalize(prediction).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var needle = AnswerText.Normalize(reference).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return needle.Length > 0 && Enumerable.Range(0, Math.Max(0, words.Length - needle.Length + 1)).Any(i => words.AsSpan(i, needle.Length).SequenceEqual(needle));
            default:
                throw new ArgumentException($"reward '{kind}' is not known; expected one of {string.Join(", ", Kinds)}.", nameof(kind));
        }
    }

    /// <summary>Parses a number: surrounding spaces, ',' thousands separators, a leading '+' or '-', decimals and exponents; not NaN or ∞.</summary>
    public static bool TryParseNumber(string? text, out double value)
    {
        value = 0;
        if (text is null)
        {
            return false;
        }

        var s = text.Trim().Replace(",", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        return s.Length > 0
            && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    private static double ToolUse(FinishedConversation conversation, IReadOnlyList<string> allowedTools)
    {
        if (allowedTools.Count == 0)
        {
            return conversation.ToolCalls.Count == 0 ? 1.0 : 0.0;
        }

        return !ToolCallChecks.UsesDisallowedTool(conversation.ToolCalls, allowedTools) && conversation.ToolCalls.Any(c => IsObject(c.ArgumentsJson)) ? 1.0 : 0.0;
    }

    private static bool IsObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
