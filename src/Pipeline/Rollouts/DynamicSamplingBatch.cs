using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Objectives;

namespace AgentRl.Pipeline.Rollouts;

/// <summary>
/// DAPO's dynamic sampling across generation batches (docs/ALGORITHMS.md §3.2): each batch's groups are filtered — a group is
/// kept when its (shaped) rewards are not all equal, or it has one member — and kept groups accumulate until the step
/// holds <c>target</c> of them or <c>maxBatches</c> batches were generated (≤ 0: no limit). Unlike verl, which raises an
/// error when the limit is reached, the step then trains on what was kept and the metrics say so.
/// </summary>
public sealed class DynamicSamplingBatch(int target, int maxBatches)
{
    private readonly List<EpisodeResult> _kept = [];
    private readonly List<EpisodeResult> _generated = [];

    /// <summary>Generation batches so far.</summary>
    public int Batches { get; private set; }

    /// <summary>Groups dropped so far (all rewards equal).</summary>
    public int DroppedGroups { get; private set; }

    /// <summary>Every group generated, kept or not (what the rollout metrics describe).</summary>
    public IReadOnlyList<EpisodeResult> Generated => _generated;

    /// <summary>Whether another generation batch is needed and allowed.</summary>
    public bool NeedsMore => _kept.Count < target && (maxBatches <= 0 || Batches < maxBatches);

    /// <summary>The kept groups, at most <c>target</c>, in the order they were generated.</summary>
    public IReadOnlyList<EpisodeResult> Kept => _kept.Count > target ? _kept[..target] : _kept;

    /// <summary>Adds one generation batch; <paramref name="metric"/> gives each group's per-trajectory filter metric.</summary>
    public void Add(IReadOnlyList<EpisodeResult> groups, Func<EpisodeResult, IReadOnlyList<double>> metric)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Batches++;
        foreach (var group in groups)
        {
            _generated.Add(group);
            var values = metric(group);
            var filter = DynamicSampling.FilterGroups(values, [.. values.Select(_ => 0)]);
            if (filter.KeptGroups == 1)
            {
                _kept.Add(group);
            }
            else
            {
                DroppedGroups++;
            }
        }
    }

    /// <summary><c>dapo/generation_batches</c>, <c>dapo/kept_groups</c> (of those trained on), <c>dapo/dropped_groups</c>.</summary>
    public Dictionary<string, double> Metrics() => new()
    {
        ["dapo/generation_batches"] = Batches,
        ["dapo/kept_groups"] = Kept.Count,
        ["dapo/dropped_groups"] = DroppedGroups,
    };
}
