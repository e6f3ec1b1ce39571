using System.Globalization;

namespace AgentRl.Tools;

/// <summary>Caps tool output text with a visible marker, e.g. <c>…[truncated 1234 chars]</c>.</summary>
public static class OutputLimiter
{
    /// <summary>The marker appended where text was cut.</summary>
    public static string Marker(long dropped, string unit) =>
        string.Create(CultureInfo.InvariantCulture, $"…[truncated {dropped} {unit}]");

    /// <summary>
    /// Returns <paramref name="text"/> unchanged when it has at most <paramref name="maxChars"/> characters, otherwise its
    /// first <paramref name="maxChars"/> characters (not splitting a surrogate pair) followed by the marker.
    /// </summary>
    public static string Truncate(string text, int maxChars, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        truncated = text.Length > maxChars;
        if (!truncated)
        {
            return text;
        }

        var keep = maxChars;
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return text[..keep] + Marker(text.Length - keep, "chars");
    }
}
