using System.Collections.Concurrent;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Tools.Search;

/// <summary>
/// BM25 indexes shared by collection key (e.g. a task's knowledge-base name, or <c>{task}/{prompt}</c> when each
/// prompt brings its own documents), so that the many episodes of one collection index it once. Thread-safe.
/// </summary>
public sealed class KnowledgeBaseIndexCache
{
    private readonly ConcurrentDictionary<string, Lazy<Bm25Index>> _indexes = new(StringComparer.Ordinal);

    public int Count => _indexes.Count;

    /// <summary>The index of <paramref name="collectionKey"/>, built from <paramref name="documents"/> the first time.</summary>
    public Bm25Index GetOrBuild(string collectionKey, Func<IReadOnlyList<KbDocument>> documents)
    {
        ArgumentException.ThrowIfNullOrEmpty(collectionKey);
        ArgumentNullException.ThrowIfNull(documents);
        return _indexes.GetOrAdd(collectionKey, _ => new Lazy<Bm25Index>(() => new Bm25Index(documents()))).Value;
    }

    /// <summary>Forgets a collection (e.g. when its episodes are done).</summary>
    public bool Remove(string collectionKey) => _indexes.TryRemove(collectionKey, out _);
}
