using System.ComponentModel;
using System.Globalization;
using System.Text;
using AgentRl.Tools.Search;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Plugins;

/// <summary>
/// BM25 search over the task's knowledge base (<c>kb-search</c>). The index comes from the tool session
/// (<see cref="Catalog.ToolSessionContext.KnowledgeBase"/>), so each task or episode searches its own documents.
/// </summary>
public sealed class KnowledgeBasePlugin(Bm25Index index)
{
    /// <summary>Most results one call returns.</summary>
    public const int MaxResults = 10;

    /// <summary>Characters of a document's text shown per result (as ARPO's <c>result_length</c>).</summary>
    public const int MaxSnippetChars = 1000;

    [KernelFunction("search")]
    [Description("Searches the knowledge base and returns the best matching documents (title and text), best first.")]
    public string Search(
        [Description("Keywords to search for")] string query,
        [Description("How many results to return (1 to 10)")] int k = 3)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            throw new ArgumentException("the query is empty", nameof(query));
        }

        var hits = index.Search(query, Math.Clamp(k, 1, MaxResults));
        if (hits.Count == 0)
        {
            return $"No results for \"{query}\".";
        }

        var text = new StringBuilder();
        for (var i = 0; i < hits.Count; i++)
        {
            var document = hits[i].Document;
            var snippet = OutputLimiter.Truncate(document.Text, MaxSnippetChars, out _);
            text.Append(CultureInfo.InvariantCulture, $"[{i + 1}] {document.Title}\n{snippet}\n");
            if (i < hits.Count - 1)
            {
                text.Append('\n');
            }
        }

        return text.ToString().TrimEnd('\n');
    }
}
