namespace AgentRl.Abstractions.Configuration;

/// <summary>
/// "Did you mean …?" for a misspelt name (a task, an algorithm, a configuration field, an option): the closest known
/// name by edit distance, offered only when it is close enough to be the likely intent.
/// </summary>
public static class NameSuggestions
{
    /// <summary>The known name closest to <paramref name="value"/>, or null when none is within a third of its length (at least 2 edits).</summary>
    public static string? Closest(string value, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(known);
        var needle = Normalise(value);
        var limit = Math.Max(2, needle.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var name in known)
        {
            var candidate = Normalise(name);
            var distance = candidate.StartsWith(needle, StringComparison.Ordinal) && needle.Length >= 3 ? 1 : Distance(needle, candidate);
            if (distance < bestDistance && distance <= limit)
            {
                (best, bestDistance) = (name, distance);
            }
        }

        return best;
    }

    /// <summary>" Did you mean 'x'?" (with a leading space) or the empty string, to append to an error message.</summary>
    public static string DidYouMean(string value, IEnumerable<string> known) =>
        Closest(value, known) is { } name ? $" Did you mean '{name}'?" : string.Empty;

    // Case, '-' and '_' do not count: max-operations, maxOperations and MaxOperations are one name.
    private static string Normalise(string name) =>
        name.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
