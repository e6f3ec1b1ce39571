using AgentRl.Abstractions.Tools;

namespace AgentRl.Tools.Search;

/// <summary>A ranked hit of <see cref="Bm25Index.Search"/>.</summary>
public sealed record KbHit(KbDocument Document, double Score);

/// <summary>
/// Okapi BM25 over a fixed document collection (title and text indexed together):
/// <c>score(D, Q) = Σ_{q ∈ Q} idf(q) · f(q, D)·(k1 + 1) / (f(q, D) + k1·(1 − b + b·|D| / avgdl))</c> with
/// <c>idf(q) = ln(1 + (N − n(q) + 0.5) / (n(q) + 0.5))</c> (always positive). Each distinct query term counts once.
/// Tokens: maximal runs of letters or digits, lower-cased (invariant). Ties keep collection order. Immutable and
/// thread-safe once built.
/// </summary>
public sealed class Bm25Index
{
    public const double DefaultK1 = 1.5;
    public const double DefaultB = 0.75;

    private readonly IReadOnlyList<KbDocument> _documents;
    private readonly Dictionary<string, int>[] _termFrequencies;
    private readonly int[] _lengths;
    private readonly Dictionary<string, int> _documentFrequencies = new(StringComparer.Ordinal);
    private readonly double _averageLength;

    public Bm25Index(IReadOnlyList<KbDocument> documents, double k1 = DefaultK1, double b = DefaultB)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfNegative(k1);
        if (b is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(b), b, "must be in [0, 1]");
        }

        _documents = documents;
        K1 = k1;
        B = b;
        _termFrequencies = new Dictionary<string, int>[documents.Count];
        _lengths = new int[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            var tokens = Tokenize(documents[i].Title + " " + documents[i].Text);
            var frequencies = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var token in tokens)
            {
                frequencies[token] = frequencies.GetValueOrDefault(token) + 1;
            }

            foreach (var term in frequencies.Keys)
            {
                _documentFrequencies[term] = _documentFrequencies.GetValueOrDefault(term) + 1;
            }

            _termFrequencies[i] = frequencies;
            _lengths[i] = tokens.Count;
        }

        _averageLength = documents.Count == 0 ? 0 : _lengths.Average();
    }

    public double K1 { get; }

    public double B { get; }

    public IReadOnlyList<KbDocument> Documents => _documents;

    /// <summary>Lower-cased maximal runs of letters and digits.</summary>
    public static IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var isWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (isWord && start < 0)
            {
                start = i;
            }
            else if (!isWord && start >= 0)
            {
                tokens.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }

        return tokens;
    }

    /// <summary>idf of a (lower-case) term: ln(1 + (N − n + 0.5) / (n + 0.5)).</summary>
    public double InverseDocumentFrequency(string term)
    {
        var n = _documentFrequencies.GetValueOrDefault(term);
        return Math.Log(1 + ((_documents.Count - n + 0.5) / (n + 0.5)));
    }

    /// <summary>BM25 score of document <paramref name="documentIndex"/> for <paramref name="query"/>.</summary>
    public double Score(string query, int documentIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documentIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(documentIndex, _documents.Count);
        return Score(Tokenize(query).Distinct(StringComparer.Ordinal).ToList(), documentIndex);
    }

    /// <summary>The <paramref name="k"/> best documents with a positive score, best first (ties in collection order).</summary>
    public IReadOnlyList<KbHit> Search(string query, int k)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (k <= 0 || _documents.Count == 0)
        {
            return [];
        }

        var terms = Tokenize(query).Distinct(StringComparer.Ordinal).ToList();
        return Enumerable.Range(0, _documents.Count)
            .Select(i => (Index: i, Score: Score(terms, i)))
            .Where(hit => hit.Score > 0)
            .OrderByDescending(hit => hit.Score)
            .ThenBy(hit => hit.Index)
            .Take(k)
            .Select(hit => new KbHit(_documents[hit.Index], hit.Score))
            .ToList();
    }

    private double Score(IReadOnlyList<string> terms, int documentIndex)
    {
        var frequencies = _termFrequencies[documentIndex];
        var lengthNorm = _averageLength > 0 ? _lengths[documentIndex] / _averageLength : 0;
        var score = 0.0;
        foreach (var term in terms)
        {
            if (!frequencies.TryGetValue(term, out var tf))
            {
                continue;
            }

            score += InverseDocumentFrequency(term) * tf * (K1 + 1) / (tf + (K1 * (1 - B + (B * lengthNorm))));
        }

        return score;
    }
}
