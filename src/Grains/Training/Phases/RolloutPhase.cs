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
/// The Rollout phase in lockstep: the step's <c>promptsPerStep</c> prompts each become an episode grain (a group of
/// <c>groupSize</c> rollouts, or a rollout tree for a branching algorithm), all at once, under the current policy version.
/// With DAPO's dynamic sampling (<c>objective.filterGroups</c>) further generation batches of new prompts follow until
/// the step holds <c>promptsPerStep</c> groups whose shaped rewards differ, up to <c>objective.maxNumGenBatches</c>.
/// </summary>
public sealed class RolloutPhase(RunContext run)
{
    private readonly IReadOnlyList<TaskItem> _items = run.Task.Generate(
        TaskSplit.Train,
        Math.Max(1, run.Config.Steps * run.Config.PromptsPerStep * (run.Algorithm.Objective.FilterGroups ? Math.Max(1, run.Algorithm.Objective.MaxNumGenBatches) : 1)),
        run.Config.Seed + 1);

    public async Task<RolloutBatch> CollectAsync(int step, long version, CancellationToken stop)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var objective = run.Algorithm.Objective;
        IReadOnlyList<EpisodeResult> groups;
        Dictionary<string, double>? sampling = null;
        IReadOnlyList<EpisodeResult> generated;
        if (!objective.FilterGroups)
        {
            groups = generated = await GenerationBatchAsync(step, 0, version, stop);
        }
        else
        {
            var batch = new DynamicSamplingBatch(run.Config.PromptsPerStep, objective.MaxNumGenBatches);
            while (batch.NeedsMore)
            {
                var next = await GenerationBatchAsync(step, batch.Batches, version, stop);
                batch.Add(next, g => [.. RewardShaping.ApplyOverlong(g.Trajectories, objective, run.Config.Limits.ContextBudget).Select(t => t.Reward)]);
            }

            (groups, generated, sampling) = (batch.Kept, batch.Generated, batch.Metrics());
        }

        var metrics = RolloutMetrics.Compute([.. generated.SelectMany(g => g.Trajectories)], clock.Elapsed.TotalSeconds);
        foreach (var (key, value) in BranchingMetrics.Compute(generated).Concat(sampling ?? []))
        {
            metrics[key] = value;
        }

        return new RolloutBatch(groups, metrics);
    }

    /// <summary>
    /// One generation batch: batch 0 holds the step's own prompts (episode keys <c>{run}/{step}/{i}</c>); DAPO's further
    /// batches take the prompts after them in the training stream (<c>{run}/{step}/g{b}/{i}</c>).
    /// </summary>
    private async Task<IReadOnlyList<EpisodeResult>> GenerationBatchAsync(int step, int batch, long version, CancellationToken stop)
    {
        var config = run.Config;
        var perStep = config.PromptsPerStep * (run.Algorithm.Objective.FilterGroups ? Math.Max(1, run.Algorithm.Objective.MaxNumGenBatches) : 1);
        var first = ((step - 1) * perStep) + (batch * config.PromptsPerStep);
        var key = batch == 0 ? $"{config.RunId}/{step}" : $"{config.RunId}/{step}/g{batch}";
        return await Task.WhenAll(Enumerable.Range(0, config.PromptsPerStep).Select(i =>
            run.Grains.GetGrain<IEpisodeGrain>($"{key}/{i}").RunAsync(
                new EpisodeSpec(config.PolicyId, config.Task, TaskCatalog.ToJson(_items[(first + i) % _items.Count]), config.GroupSize, new SamplingSettings(config.Temperature), config.Limits, unchecked((config.Seed * 100_003) + (step * 1009) + (batch * 7919) + i), version, run.Algorithm.Branching, config.TaskOptions),
                stop)));
    }
}
