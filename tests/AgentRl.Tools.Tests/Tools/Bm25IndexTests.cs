using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Plugins;
using AgentRl.Tools.Search;

namespace AgentRl.Tools.Tests.Tools;

public sealed class Bm25IndexTests
{
    // Token counts (title + text): d0 = 4, d1 = 6, d2 = 3, d3 = 3; avgdl = 4.
    private static readonly KbDocument[] Corpus =
    [
        new("d0", "Paris", "capital of France"),
        new("d1", "Lyon", "city in France, not capital"),
        new("d2", "Berlin", "capital city"),
        new("d3", "Soup", "French onion"),
    ];

    [Fact]
    public void Tokenize_MixedText_GivesLowercaseAlphanumericRuns()
    {
        Assert.Equal(["hello", "world", "42", "x"], Bm25Index.Tokenize("Hello, WORLD! 42-x"));
    }

    [Fact]
    public void Score_SingleTerm_MatchesHandComputedValue()
    {
        var index = new Bm25Index(Corpus);

        // "france": n = 2 of N = 4 → idf = ln(1 + (4 − 2 + 0.5)/(2 + 0.5)) = ln 2.
        // d0: tf = 1, |D| = 4 = avgdl → 2.5 / (1 + 1.5) = 1 → score = ln 2.
        // d1: tf = 1, |D| = 6 → 2.5 / (1 + 1.5·(0.25 + 0.75·1.5)) = 2.5 / 3.0625.
        Assert.Equal(Math.Log(2), index.Score("france", 0), 12);
        Assert.Equal(Math.Log(2) * 2.5 / 3.0625, index.Score("France!", 1), 12);
        Assert.Equal(0, index.Score("france", 2));
    }

    [Fact]
    public void Search_CapitalOfFrance_RanksByBm25()
    {
        var index = new Bm25Index(Corpus);

        // "capital": n = 3 → idf = ln(1 + 1.5/3.5) ≈ 0.357; "of": n = 1 → ln(1 + 3.5/1.5); "france": ln 2.
        // d0 has all three terms at avgdl; d1 has capital + france, longer (×2.5/3.0625 ≈ 0.816) → ≈ 0.857;
        // d2 has only capital, shorter: 2.5/(1 + 1.5·(0.25 + 0.75·0.75)) = 2.5/2.21875 → ≈ 0.402; d3 nothing.
        var hits = index.Search("capital of France", 10);

        Assert.Equal(["d0", "d1", "d2"], hits.Select(h => h.Document.Id));
        var capital = Math.Log(1 + (1.5 / 3.5));
        Assert.Equal(capital + Math.Log(1 + (3.5 / 1.5)) + Math.Log(2), hits[0].Score, 12);
        Assert.Equal((capital + Math.Log(2)) * 2.5 / 3.0625, hits[1].Score, 12);
        Assert.Equal(capital * 2.5 / 2.21875, hits[2].Score, 12);
    }

    [Fact]
    public void Search_NoMatchingTerm_ReturnsNothing()
    {
        Assert.Empty(new Bm25Index(Corpus).Search("quantum", 3));
        Assert.Empty(new Bm25Index([]).Search("paris", 3));
    }

    [Fact]
    public void Search_K_LimitsResults()
    {
        Assert.Single(new Bm25Index(Corpus).Search("capital", 1));
    }

    [Fact]
    public void KnowledgeBasePlugin_Search_FormatsRankedTitleAndText()
    {
        var plugin = new KnowledgeBasePlugin(new Bm25Index(Corpus));

        var text = plugin.Search("capital of France", 2);

        Assert.Equal("[1] Paris\ncapital of France\n\n[2] Lyon\ncity in France, not capital", text);
        Assert.Equal("No results for \"quantum\".", plugin.Search("quantum"));
    }

    [Fact]
    public void KnowledgeBaseIndexCache_SameKey_BuildsOnce()
    {
        var cache = new KnowledgeBaseIndexCache();
        var builds = 0;
        IReadOnlyList<KbDocument> Docs()
        {
            builds++;
            return Corpus;
        }

        var first = cache.GetOrBuild("geo", Docs);
        var second = cache.GetOrBuild("geo", Docs);

        Assert.Same(first, second);
        Assert.Equal(1, builds);
    }
}
