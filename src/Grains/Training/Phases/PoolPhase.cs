using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Tasks;
using AgentRl.Pipeline.Rewards;
using AgentRl.Pipeline.Swarm;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The Pool phase of a swarm step (docs/ALGORITHMS.md §4), between Reward and Advantage: publish the run's own groups
/// (<c>swarm.share</c>) to the pool's shards, draw up to J external groups (never the run's own, none older than
/// <c>swarm.maxAgeSteps</c>, as <c>swarm.select</c> says), have the trainer re-render them in this policy's tokens with its
/// current logprobs (and truncated importance weights for <c>truncated-is</c>), rescore them with this run's task, shape
/// their rewards as the Reward phase does, and append them as groups of their own. When fewer than J are usable, the step
/// rolls out the difference itself; it never waits for the pool. With KL in the reward the Reward phase only shapes the
/// own groups (<see cref="RewardPhase.ShapeAsync"/>); fill and external groups are shaped with the same β, and this phase
/// then updates the KL controller once, with the KL of all of them together: the controller sees the batch the step trains
/// on, as without a pool, and one step is one update whatever the mix of own and external groups.
/// Metrics <c>swarm/local_groups</c>, <c>swarm/external_groups</c>, <c>swarm/fill_groups</c>, <c>swarm/external_reward_mean</c>
/// (rescored), <c>swarm/external_informative_share</c>, <c>swarm/pool_size</c>, <c>swarm/published_groups</c>, <c>swarm/unshared_groups</c>,
/// <c>swarm/rejected_groups</c>, <c>swarm/publish_ms</c>, <c>swarm/draw_ms</c>, <c>swarm/corrected_tokens</c>,
/// <c>swarm/uncorrected_tokens</c>.
/// </summary>
public sealed class PoolPhase(RunContext run, RolloutPhase rollout, RewardPhase reward, ILogger logger)
{
    /// <summary>
    /// The step's batch, own groups and external ones mixed; the fill groups the step rolled out itself, which it trains on
    /// as own groups; and the external groups it trained, keyed <c>pool:{producer}/{group}</c>. <c>groups.csv</c> lists
    /// both; an external group may be drawn again at a later step, so "no group trained twice" holds for own groups.
    /// </summary>
    public sealed record Mix(ScoredBatch Scored, IReadOnlyList<EpisodeResult> FillGroups, IReadOnlyList<EpisodeResult> ExternalGroups);

    private readonly SwarmSettings _swarm = run.Config.Swarm ?? throw new ArgumentException("The Pool phase needs swarm settings.", nameof(run));
    private string? _tokenizerId;

    public async Task<Mix> MixAsync(int step, long version, RolloutBatch local, ScoredBatch scored, CancellationToken stop)
    {
        _tokenizerId ??= await run.Trainer.GetTokenizerIdAsync(stop);
        var metrics = new Dictionary<string, double>();
        var publish = Stopwatch.StartNew();
        var (published, unshared) = await PublishAsync(step, version, local.Groups, stop);
        publish.Stop();

        var draw = Stopwatch.StartNew();
        var (external, poolSize, rejected, externalKl) = await DrawAsync(step, stop);
        draw.Stop();

        // Fewer usable external groups than J: the step trains on own groups in their place.
        var missing = _swarm.External - external.Count;
        var trajectories = scored.Trajectories.ToList();
        var weights = new List<float[]?>(scored.TokenWeights ?? Enumerable.Repeat<float[]?>(null, trajectories.Count));
        IReadOnlyList<EpisodeResult> fillGroups = [];
        var rewardKl = RewardKlSample.Merge(scored.RewardKl, externalKl);
        if (missing > 0)
        {
            var fill = await rollout.CollectFillAsync(step, version, missing, stop);
            var fillScored = await reward.ShapeAsync(fill, stop);
            rewardKl = RewardKlSample.Merge(rewardKl, fillScored.RewardKl);
            trajectories.AddRange(fillScored.Trajectories);
            weights.AddRange(Enumerable.Repeat<float[]?>(null, fillScored.Trajectories.Count));
            fillGroups = fill.Groups;
            publish.Start();
            var (fillPublished, fillUnshared) = await PublishAsync(step, version, fill.Groups, stop);
            (published, unshared) = (published + fillPublished, unshared + fillUnshared);
            publish.Stop();
        }

        foreach (var group in external)
        {
            trajectories.AddRange(group.Trajectories);
            weights.AddRange(group.TokenWeights);
        }

        var externalTrajectories = external.SelectMany(g => g.Trajectories).ToList();
        metrics["swarm/local_groups"] = local.Groups.Count + fillGroups.Count;
        metrics["swarm/external_groups"] = external.Count;
        metrics["swarm/fill_groups"] = fillGroups.Count;
        metrics["swarm/external_reward_mean"] = externalTrajectories.Count == 0 ? 0 : externalTrajectories.Average(ExternalGroups.TaskReward);
        metrics["swarm/external_informative_share"] = external.Count == 0 ? 0 : external.Count(g => SharedGroups.IsInformative(g.Trajectories.Select(ExternalGroups.TaskReward))) / (double)external.Count;
        metrics["swarm/pool_size"] = poolSize;
        metrics["swarm/published_groups"] = published;
        metrics["swarm/unshared_groups"] = unshared;   // own groups kept from the pool: a tool call that did not parse
        metrics["swarm/rejected_groups"] = rejected;
        metrics["swarm/publish_ms"] = publish.Elapsed.TotalMilliseconds;
        metrics["swarm/draw_ms"] = draw.Elapsed.TotalMilliseconds;
        metrics["swarm/corrected_tokens"] = external.Sum(g => g.CorrectedTokens);
        metrics["swarm/uncorrected_tokens"] = external.Sum(g => g.UncorrectedTokens);
        foreach (var (key, value) in scored.Metrics)
        {
            metrics[key] = value;
        }

        await reward.UpdateKlControllerAsync(rewardKl, stop);
        return new Mix(new ScoredBatch(trajectories, metrics, weights.Any(w => w is not null) ? weights : null, rewardKl), fillGroups, [.. external.Select(g => new EpisodeResult($"pool:{g.Source}", g.Trajectories, 0))]);
    }


    /// <summary>
    /// Own groups to their shards (<c>swarm.share</c>: informative ones only by default; never one with a tool call that did
    /// not parse). Returns how many were stored, and how many were kept back for a malformed call.
    /// </summary>
    private async Task<(int Stored, int Unshared)> PublishAsync(int step, long version, IReadOnlyList<EpisodeResult> groups, CancellationToken stop)
    {
        var producer = new Producer(run.Config.RunId, run.Config.PolicyId, version, _tokenizerId!, step);
        var now = DateTime.UtcNow;
        var wellFormed = groups.Where(g => !SharedGroups.HasMalformedCall(g)).ToList();
        var shared = wellFormed
            .Where(g => _swarm.Share == SwarmSettings.Shares.Everything || SharedGroups.IsInformative(g.Trajectories.Select(t => t.Reward)))
            .Select(g => SharedGroups.FromEpisode(g, run.Config.Task, rollout.ItemJsonOf(g.EpisodeId), producer, now))
            .ToList();
        var stored = 0;
        foreach (var shard in shared.GroupBy(g => PoolShards.Of(g.Task, g.ItemJson, _swarm.Shards)))
        {
            try
            {
                stored += (await Shard(shard.Key).PublishAsync([.. shard], stop)).Accepted;
            }
            catch (ArgumentException e)
            {
                // A group the pool refuses is not shared; the run goes on with it as a local group.
                logger.LogWarning("Run {RunId} step {Step}: pool {Pool} refused groups: {Reason}", run.Config.RunId, step, _swarm.Pool, e.Message);
            }
        }

        return (stored, groups.Count - wellFormed.Count);
    }

    /// <summary>Up to J external groups, rendered, rescored and shaped; the pool's size; how many drawn groups could not be used; their KL in the reward.</summary>
    private async Task<(IReadOnlyList<ExternalGroup> Groups, int PoolSize, int Rejected, RewardKlSample? Kl)> DrawAsync(int step, CancellationToken stop)
    {
        if (_swarm.External == 0)
        {
            var sizes = await Task.WhenAll(Enumerable.Range(0, _swarm.Shards).Select(s => Shard(s).DrawAsync(new PoolDraw(0, run.Config.RunId, run.Config.Task, _swarm.Select, 0, 0), stop)));
            return ([], sizes.Sum(s => s.Size), 0, null);
        }

        var minStep = Math.Max(0, step - _swarm.MaxAgeSteps);
        var seed = unchecked((run.Config.Seed * 100_003) + (step * 7919));
        var answers = await Task.WhenAll(Enumerable.Range(0, _swarm.Shards).Select(s =>
            Shard(s).DrawAsync(new PoolDraw(_swarm.External, run.Config.RunId, run.Config.Task, _swarm.Select, minStep, unchecked(seed + s)), stop)));
        // One group per producer and id: a shard replaces a redone step's group, and this guards the step's group ids
        // (ext:{producer}:{group}) should two copies still meet here.
        IReadOnlyList<SharedGroup> drawn = [.. PoolDrawMerge.Merge(answers, _swarm.External, _swarm.Select, seed).DistinctBy(g => (g.ProducerRunId, g.GroupId))];
        var poolSize = answers.Sum(a => a.Size);
        if (drawn.Count == 0)
        {
            return ([], poolSize, 0, null);
        }

        var rendered = await run.Trainer.RenderExternalAsync(new ExternalRenderSpec(run.Config.Task, run.Config.TaskOptions, run.Config.Limits.ContextBudget, _swarm.OffPolicyCorrection, _swarm.IsClip), drawn, stop);
        var usable = new List<ExternalGroup>();
        var items = drawn.ToDictionary(g => $"{g.ProducerRunId}/{g.GroupId}", g => g.ItemJson, StringComparer.Ordinal);
        foreach (var group in rendered)
        {
            if (group.Problem is not null)
            {
                logger.LogInformation("Run {RunId} step {Step}: external group {Source} not used: {Problem}", run.Config.RunId, step, group.Source, group.Problem);
                continue;
            }

            usable.Add(ExternalGroups.Rescore(group, run.Task, TaskCatalog.FromJson(items[group.Source])));
        }

        var (shaped, kl) = await ShapeAsync(usable, stop);
        return (shaped, poolSize, rendered.Count - usable.Count, kl);
    }

    /// <summary>
    /// The Reward phase's shaping of external trajectories: overlong penalty and KL in the reward with the step's β, as for
    /// own ones, and their KL for the step's one controller update (which this does not make).
    /// </summary>
    private async Task<(IReadOnlyList<ExternalGroup> Groups, RewardKlSample? Kl)> ShapeAsync(IReadOnlyList<ExternalGroup> groups, CancellationToken stop)
    {
        var (shaped, kl) = await reward.ShapeTrajectoriesAsync([.. groups.SelectMany(g => g.Trajectories)], stop);
        var sample = kl is null ? null : new RewardKlSample(kl.CurrentKl, shaped.Count);

        var result = new List<ExternalGroup>();
        var offset = 0;
        foreach (var group in groups)
        {
            result.Add(group with { Trajectories = [.. shaped.Skip(offset).Take(group.Trajectories.Count)] });
            offset += group.Trajectories.Count;
        }

        return (result, sample);
    }

    private IExperiencePoolGrain Shard(int shard) => run.Grains.GetGrain<IExperiencePoolGrain>(PoolShards.Key(_swarm.Pool, shard));
}
