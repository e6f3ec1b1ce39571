using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Branching;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Grains.Rollouts;

/// <summary>
/// One prompt's group: G independent branches, or with <see cref="EpisodeSpec.Branching"/> an entropy-triggered rollout
/// tree of M = G trajectories (<see cref="RolloutTreeRunner"/>: children are branch grains keyed <c>{episode}/{parent}.{i}</c>
/// that continue their parent's trajectory). Each trajectory is scored with the task's reward function.
/// </summary>
[PreferSiloRole("rollout")]
public sealed class EpisodeGrain(TaskCatalog tasks) : Grain, IEpisodeGrain
{
    public async Task<EpisodeResult> RunAsync(EpisodeSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(spec.GroupSize, 1);
        var clock = Stopwatch.StartNew();
        var episodeId = this.GetPrimaryKeyString();
        using var span = AgentRlTelemetry.StartEpisode(episodeId, spec.MinPolicyVersion);
        var task = tasks.Get(spec.TaskName, spec.TaskOptions);
        var item = TaskCatalog.FromJson(spec.ItemJson);
        IReadOnlyList<Trajectory> trajectories;
        BranchingStats? stats = null;
        if (spec.Branching is null)
        {
            trajectories = await Task.WhenAll(Enumerable.Range(0, spec.GroupSize).Select(i =>
                RunBranchAsync(spec, episodeId, RolloutNode.RootPath(i), RolloutTreeRunner.NodeSeed(spec.Seed, RolloutNode.RootPath(i)), null, 0, cancellationToken)));
        }
        else
        {
            int? vocabulary = null;
            if (spec.Branching.EntropyEstimator == TopKSummedNormalizedEntropy.RegistryName)
            {
                // The reference's estimator: the top logprobs of every token, normalised by ln|V| of the policy's tokenizer.
                vocabulary = await GrainFactory.GetGrain<IGeneratorGrain>(spec.PolicyId).GetVocabularySizeAsync(cancellationToken);
                spec = spec with { Sampling = spec.Sampling with { TopLogprobs = Math.Max(spec.Sampling.TopLogprobs, TopKSummedNormalizedEntropy.ReferenceTopLogprobs) } };
            }

            var runner = new RolloutTreeRunner(BranchingOptions.FromSettings(spec.Branching, spec.GroupSize, vocabulary), spec.Seed);
            var tree = await runner.RunAsync(
                (node, parent, seed, ct) => RunBranchAsync(spec, episodeId, node.Path, seed, parent, node.ForkPosition, ct),
                cancellationToken);
            trajectories = tree.Trajectories;
            stats = tree.Stats;
        }

        var scored = trajectories.Select(t =>
        {
            var reward = task.Score(item, FinishedConversation.FromMessages(t.Conversation));
            return t with { Reward = reward.Score, RewardParts = reward.Parts };
        }).ToList();
        DeactivateOnIdle();
        return new EpisodeResult(episodeId, scored, clock.Elapsed.TotalMilliseconds, stats);
    }

    private Task<Trajectory> RunBranchAsync(EpisodeSpec spec, string episodeId, string path, int seed, Trajectory? parent, int forkPosition, CancellationToken cancellationToken) =>
        GrainFactory.GetGrain<IRolloutBranchGrain>($"{episodeId}/{path}").RunAsync(
            new BranchSpec(episodeId, spec.PolicyId, spec.TaskName, spec.ItemJson, spec.Sampling, spec.Limits, seed, spec.MinPolicyVersion, parent, forkPosition, spec.TaskOptions),
            cancellationToken);
}
