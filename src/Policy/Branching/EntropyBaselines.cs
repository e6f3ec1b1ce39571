using System.Collections.Concurrent;

namespace AgentRl.Policy.Branching;

/// <summary>
/// H_init per path: the entropy of a path's first measured segment, against which later segments give ΔH. A forked
/// child gets its own baseline from its own first segment (reference behaviour). Thread-safe.
/// </summary>
/// <remarks>
/// Deviation (docs/ALGORITHMS.md §1.3 step 3, §9): the reference keeps this dictionary on the rollout worker for its whole
/// life, keyed by slot index, so baselines leak across steps and prompts. Here a <see cref="RolloutBudget"/> owns a
/// fresh instance per prompt and step; passing one shared instance to several budgets reproduces the reference.
/// </remarks>
public sealed class EntropyBaselines
{
    private readonly ConcurrentDictionary<string, double> _baselines = new(StringComparer.Ordinal);

    /// <summary>ΔH = segment − H_init(path); the first call for a path stores the segment as H_init, so it returns 0.</summary>
    public double Delta(string path, double segmentEntropy)
    {
        ArgumentNullException.ThrowIfNull(path);
        return segmentEntropy - _baselines.GetOrAdd(path, segmentEntropy);
    }

    public bool TryGet(string path, out double baseline) => _baselines.TryGetValue(path, out baseline);

    public int Count => _baselines.Count;

    public void Reset() => _baselines.Clear();
}
