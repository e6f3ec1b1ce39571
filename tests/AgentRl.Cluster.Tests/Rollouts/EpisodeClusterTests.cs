using AgentRl.Abstractions.Rollouts;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks;

namespace AgentRl.Cluster.Tests.Rollouts;

/// <summary>Episodes on a two-silo cluster with the real tiny model (random weights), generator, sandbox and reward.</summary>
public sealed class EpisodeClusterTests
{
    [Fact]
    public async Task RunEpisodes_TwoSilosRandomTinyModel_EveryTrajectoryIsConsistentAndScored()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2);
        var task = TaskRegistry.CreateDefault().Create("arithmetic");
        var items = task.Generate(TaskSplit.Train, 12, seed: 1);
        var limits = new RolloutLimits(MaxTurns: 3, MaxNewTokensPerTurn: 24, ContextBudget: 256);

        var results = await Task.WhenAll(items.Select((item, i) =>
            cluster.Client.GetGrain<IEpisodeGrain>($"test/0/{i}").RunAsync(
                new EpisodeSpec("default", "arithmetic", TaskCatalog.ToJson(item), GroupSize: 4, new SamplingSettings(Temperature: 1.0), limits, Seed: i))));

        Assert.Equal(12, results.Length);
        foreach (var (result, i) in results.Select((r, i) => (r, i)))
        {
            Assert.Equal($"test/0/{i}", result.EpisodeId);
            Assert.Equal(4, result.Trajectories.Count);
            Assert.Equal(["0", "1", "2", "3"], result.Trajectories.Select(t => t.BranchPath).Order());
            foreach (var t in result.Trajectories)
            {
                var n = t.TokenIds.Length;
                Assert.True(n <= limits.ContextBudget);
                Assert.Equal(n, t.LossMask.Length);
                Assert.Equal(n, t.Logprobs.Length);
                Assert.Equal(n, t.Entropies.Length);
                Assert.Equal(n, t.PolicyVersions.Length);
                Assert.True(t.GeneratedTokenCount > 0);
                for (var p = 0; p < n; p++)
                {
                    var generated = t.LossMask[p] == 1;
                    Assert.Equal(generated, t.PolicyVersions[p] == 0);
                    Assert.True(generated ? t.Logprobs[p] <= 0 && t.Entropies[p] >= 0 : t.Logprobs[p] == 0);
                }

                Assert.All(Enumerable.Range(0, t.PromptLength), p => Assert.Equal(0, t.LossMask[p]));
                Assert.InRange(t.Reward, 0, 1);
                Assert.Contains("correctness", t.RewardParts.Keys);
                Assert.NotEqual(FinishReason.Error, t.FinishReason);
            }
        }

        // Seeds differ per branch, so a group is not four copies of one sample.
        Assert.All(results, r => Assert.True(r.Trajectories.Select(t => string.Join(',', t.TokenIds)).Distinct().Count() > 1));
    }

    /// <summary>
    /// The run's task options reach the episodes: rewards use its weights and the conversation its system prompt, for plain
    /// groups and for rollout trees (whose branch grains rebuild the task). They were once dropped on the way, so a run set
    /// <c>taskOptions.formatWeight</c> and trained on the defaults.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunEpisode_TaskOptions_RewardWeightsAndSystemPromptApply(bool branching)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var options = new Dictionary<string, string> { ["correctnessWeight"] = "0", ["formatWeight"] = "0", ["toolUseWeight"] = "1", ["systemPrompt"] = "Options reach episodes." };
        var item = TaskRegistry.CreateDefault().Create("arithmetic", options).Generate(TaskSplit.Train, 1, seed: 2)[0];
        var limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 256);
        var tree = branching ? AgentRl.Policy.Algorithms.ResolvedAlgorithm.ForRun(new AgentRl.Abstractions.Training.RunConfig { Algorithm = "arpo", GroupSize = 4 }).Branching : null;

        var result = await cluster.Client.GetGrain<IEpisodeGrain>($"options/{branching}").RunAsync(
            new EpisodeSpec("default", "arithmetic", TaskCatalog.ToJson(item), GroupSize: 4, new SamplingSettings(Temperature: 1.0), limits, Seed: 5, Branching: tree, TaskOptions: options));

        Assert.NotEmpty(result.Trajectories);
        foreach (var t in result.Trajectories)
        {
            Assert.Equal(t.RewardParts["tool_use"], t.Reward, 9);
            Assert.StartsWith("Options reach episodes.", t.Conversation[0].Content);
        }
    }
}
