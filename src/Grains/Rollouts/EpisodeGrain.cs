using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Grains.Rollouts;

/// <summary>One prompt's group: runs G branches concurrently, scores each with the task's reward function, returns the group.</summary>
[PreferSiloRole("rollout")]
public sealed class EpisodeGrain(TaskCatalog tasks) : Grain, IEpisodeGrain
{
    public async Task<EpisodeResult> RunAsync(EpisodeSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(spec.GroupSize, 1);
        var clock = Stopwatch.StartNew();
        var episodeId = this.GetPrimaryKeyString();
        var task = tasks.Get(spec.TaskName);
        var item = TaskCatalog.FromJson(spec.ItemJson);
        var branches = Enumerable.Range(0, spec.GroupSize).Select(i =>
            GrainFactory.GetGrain<IRolloutBranchGrain>($"{episodeId}/{i}").RunAsync(
                new BranchSpec(episodeId, spec.PolicyId, spec.TaskName, spec.ItemJson, spec.Sampling, spec.Limits, unchecked((spec.Seed * 7919) + i), spec.MinPolicyVersion),
                cancellationToken));
        var trajectories = await Task.WhenAll(branches);
        var scored = trajectories.Select(t =>
        {
            var reward = task.Score(item, FinishedConversation.FromMessages(t.Conversation));
            return t with { Reward = reward.Score, RewardParts = reward.Parts };
        }).ToList();
        DeactivateOnIdle();
        return new EpisodeResult(episodeId, scored, clock.Elapsed.TotalMilliseconds);
    }
}
