using System.Collections.Concurrent;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Tasks;
using AgentRl.Pipeline.Metrics;
using AgentRl.Pipeline.Rewards;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Tasks;

namespace AgentRl.Grains.Training.Phases;

/// <summary>A step's rollout groups and what the phase measured (rollout, tool, branching and dynamic-sampling metrics).</summary>
/// <param name="Groups">The groups to train on, one per prompt.</param>
/// <param name="Metrics">Metrics of every trajectory generated in the step (dropped groups included).</param>
public sealed record RolloutBatch(IReadOnlyList<EpisodeResult> Groups, Dictionary<string, double> Metrics);

/// <summary>
/// The Rollout phase in lockstep: the step's <c>promptsPerStep</c> prompts (in a swarm, <c>swarm.local</c>) each become an
/// episode grain (a group of <c>groupSize</c> rollouts, or a rollout tree for a branching algorithm), all at once, under
/// the current policy version. With DAPO's dynamic sampling (<c>objective.filterGroups</c>) further generation batches of
/// new prompts follow until the step holds that many groups whose shaped rewards differ, up to
/// <c>objective.maxNumGenBatches</c>. A swarm step that finds fewer external groups than <c>swarm.external</c> rolls out
/// the difference itself (<see cref="CollectFillAsync"/>) from the prompts reserved for it in the training stream.
/// </summary>
public sealed class RolloutPhase(RunContext run)
{
    private readonly IReadOnlyList<TaskItem> _items = run.Task.Generate(TaskSplit.Train, Math.Max(1, run.Config.Steps * StreamStride(run)), run.Config.Seed + 1);
    private readonly ConcurrentDictionary<string, string> _itemJson = new(StringComparer.Ordinal);

    /// <summary>The item (as JSON) of an episode this phase ran in the current step.</summary>
    public string ItemJsonOf(string episodeId) => _itemJson[episodeId];

    /// <summary>The item of an episode this phase ran in the current step, or null for another episode (a swarm's external group).</summary>
    public TaskItem? ItemOf(string episodeId) => _itemJson.TryGetValue(episodeId, out var json) ? TaskCatalog.FromJson(json) : null;

    public async Task<RolloutBatch> CollectAsync(int step, long version, CancellationToken stop)
    {
        _itemJson.Clear();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var objective = run.Algorithm.Objective;
        var prompts = run.Config.LocalPromptsPerStep;
        IReadOnlyList<EpisodeResult> groups;
        Dictionary<string, double>? sampling = null;
        IReadOnlyList<EpisodeResult> generated;
        if (!objective.FilterGroups)
        {
            groups = generated = await GenerationBatchAsync(step, 0, version, stop);
        }
        else
        {
            var batch = new DynamicSamplingBatch(prompts, objective.MaxNumGenBatches);
            while (batch.NeedsMore)
            {
                var next = await GenerationBatchAsync(step, batch.Batches, version, stop);
                batch.Add(next, g => [.. RewardShaping.ApplyOverlong(g.Trajectories, objective, run.Config.Limits.ContextBudget).Select(t => t.Reward)]);
            }

            (groups, generated, sampling) = (batch.Kept, batch.Generated, batch.Metrics());
        }

        var metrics = RolloutMetrics.Compute([.. generated.SelectMany(g => g.Trajectories)], clock.Elapsed.TotalSeconds);
        var staleness = StalenessMetrics.Compute([.. groups.SelectMany(g => g.Trajectories)], version);
        foreach (var (key, value) in BranchingMetrics.Compute(generated, run.Task.AllowedTools).Concat(sampling ?? []).Concat(staleness))
        {
            metrics[key] = value;
        }

        return new RolloutBatch(groups, metrics);
    }

    /// <summary>
    /// A swarm step's fill-up: <paramref name="count"/> (at most <c>swarm.external</c>) more groups of the run's own, from the
    /// prompts after the step's generation batches (episode keys <c>{run}/{step}/fill/{i}</c>).
    /// </summary>
    public async Task<RolloutBatch> CollectFillAsync(int step, long version, int count, CancellationToken stop)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = ((step - 1) * StreamStride(run)) + (run.Config.LocalPromptsPerStep * GenerationBatches(run));
        var groups = await EpisodesAsync($"{run.Config.RunId}/{step}/fill", first, count, step, -1, version, stop);
        return new RolloutBatch(groups, RolloutMetrics.Compute([.. groups.SelectMany(g => g.Trajectories)], clock.Elapsed.TotalSeconds));
    }

    /// <summary>
    /// One generation batch: batch 0 holds the step's own prompts (episode keys <c>{run}/{step}/{i}</c>); DAPO's further
    /// batches take the prompts after them in the training stream (<c>{run}/{step}/g{b}/{i}</c>).
    /// </summary>
    private Task<EpisodeResult[]> GenerationBatchAsync(int step, int batch, long version, CancellationToken stop)
    {
        var prompts = run.Config.LocalPromptsPerStep;
        var first = ((step - 1) * StreamStride(run)) + (batch * prompts);
        var key = batch == 0 ? $"{run.Config.RunId}/{step}" : $"{run.Config.RunId}/{step}/g{batch}";
        return EpisodesAsync(key, first, prompts, step, batch, version, stop);
    }

    private Task<EpisodeResult[]> EpisodesAsync(string key, int first, int count, int step, int batch, long version, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => EpisodeAsync(key, first, i, step, batch, version, stop)));

    /// <summary>
    /// The episode of slot <paramref name="slot"/> of the training stream, in async mode (<see cref="AsyncRolloutPhase"/>):
    /// step <c>slot / promptsPerStep + 1</c>, index <c>slot % promptsPerStep</c> — the key, item and seed the synchronous
    /// step gives that group, generated with at least <paramref name="version"/>.
    /// </summary>
    public Task<EpisodeResult> SlotEpisodeAsync(long slot, long version, CancellationToken stop)
    {
        var prompts = run.Config.LocalPromptsPerStep;
        var (step, index) = ((int)(slot / prompts) + 1, (int)(slot % prompts));
        return EpisodeAsync($"{run.Config.RunId}/{step}", (step - 1) * StreamStride(run), index, step, 0, version, stop);
    }

    /// <summary>Forgets the items of the episodes a finished step trained on (async mode keeps those still in flight).</summary>
    public void Forget(IEnumerable<string> episodeIds)
    {
        foreach (var id in episodeIds)
        {
            _itemJson.TryRemove(id, out _);
        }
    }

    /// <summary>Rollout and branching metrics of the groups a step trains on.</summary>
    public RolloutBatch Measure(IReadOnlyList<EpisodeResult> groups, double seconds, long version)
    {
        var metrics = RolloutMetrics.Compute([.. groups.SelectMany(g => g.Trajectories)], seconds);
        foreach (var (key, value) in BranchingMetrics.Compute(groups, run.Task.AllowedTools).Concat(StalenessMetrics.Compute([.. groups.SelectMany(g => g.Trajectories)], version)))
        {
            metrics[key] = value;
        }

        return new RolloutBatch(groups, metrics);
    }

    private Task<EpisodeResult> EpisodeAsync(string key, int first, int i, int step, int batch, long version, CancellationToken stop)
    {
        var config = run.Config;
        var itemJson = TaskCatalog.ToJson(_items[(first + i) % _items.Count]);
        _itemJson[$"{key}/{i}"] = itemJson;
        return run.Grains.GetGrain<IEpisodeGrain>($"{key}/{i}").RunAsync(
            new EpisodeSpec(config.PolicyId, config.Task, itemJson, config.GroupSize, new SamplingSettings(config.Temperature), config.Limits, unchecked((config.Seed * 100_003) + (step * 1009) + (batch * 7919) + i), version, run.Algorithm.Branching, config.TaskOptions),
            stop);
    }

    private static int GenerationBatches(RunContext run) => run.Algorithm.Objective.FilterGroups ? Math.Max(1, run.Algorithm.Objective.MaxNumGenBatches) : 1;

    /// <summary>Prompts of the training stream each step owns: its generation batches, and in a swarm the fill-up reserve.</summary>
    private static int StreamStride(RunContext run) => (run.Config.LocalPromptsPerStep * GenerationBatches(run)) + (run.Config.Swarm?.External ?? 0);
}
