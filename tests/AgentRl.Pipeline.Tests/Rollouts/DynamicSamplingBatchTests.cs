using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rewards;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Algorithms;

namespace AgentRl.Pipeline.Tests.Rollouts;

/// <summary>DAPO's dynamic sampling (ALGORITHMS.md §3.2): group filter and accumulation across generation batches.</summary>
public sealed class DynamicSamplingBatchTests
{
    private static Trajectory Make(string group, double reward, int length = 8, int prompt = 3) => new()
    {
        GroupId = group,
        BranchPath = "0",
        TokenIds = [.. Enumerable.Range(1, length)],
        PromptLength = prompt,
        LossMask = [.. Enumerable.Range(0, length).Select(t => (byte)(t >= prompt ? 1 : 0))],
        Logprobs = [.. Enumerable.Range(0, length).Select(t => t >= prompt ? -0.5f : 0f)],
        Entropies = new float[length],
        PolicyVersions = new long[length],
        FinishReason = FinishReason.Eos,
        Reward = reward,
    };

    private static EpisodeResult Group(string id, params double[] rewards) =>
        new(id, [.. rewards.Select(r => Make(id, r))], 1);

    private static IReadOnlyList<double> Rewards(EpisodeResult group) => [.. group.Trajectories.Select(t => t.Reward)];

    private static string[] Ids(IEnumerable<EpisodeResult> groups) => [.. groups.Select(g => g.EpisodeId)];

    [Fact]
    public void Add_GroupsWithoutSpread_AreDroppedAndSingletonsKept()
    {
        var batch = new DynamicSamplingBatch(target: 10, maxBatches: 0);

        batch.Add([Group("a", 1, 0, 1), Group("b", 1, 1, 1), Group("c", 0.3), Group("d", 0, 0), Group("e", 0.5, 0.25)], Rewards);

        Assert.Equal(["a", "c", "e"], Ids(batch.Kept));
        Assert.Equal(["a", "b", "c", "d", "e"], Ids(batch.Generated));
        Assert.Equal(2, batch.DroppedGroups);
        Assert.Equal(1, batch.Batches);
        Assert.True(batch.NeedsMore);                  // 3 < 10 and no batch limit
    }

    [Fact]
    public void Add_EqualNonRepresentableRewards_AreDroppedThoughAFloatStdIsNotZero()
    {
        double[] rewards = [0.1, 0.1, 0.1];
        var mean = rewards.Sum() / rewards.Length;
        var std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / rewards.Length);
        Assert.NotEqual(0.0, std);                    // the naive std rule would keep this group
        var batch = new DynamicSamplingBatch(target: 4, maxBatches: 0);

        batch.Add([Group("tenths", rewards), Group("spread", 0.1, 0.2)], Rewards);

        Assert.Equal(["spread"], Ids(batch.Kept));
        Assert.Equal(1, batch.DroppedGroups);
    }

    [Fact]
    public void Add_AcrossGenerationBatches_AccumulatesUntilTheTargetAndTruncates()
    {
        var batch = new DynamicSamplingBatch(target: 3, maxBatches: 10);
        Assert.True(batch.NeedsMore);

        batch.Add([Group("1a", 1, 0), Group("1b", 1, 1)], Rewards);
        Assert.True(batch.NeedsMore);
        batch.Add([Group("2a", 0, 0), Group("2b", 0, 1)], Rewards);
        Assert.True(batch.NeedsMore);
        batch.Add([Group("3a", 1, 0), Group("3b", 0.5, 0), Group("3c", 1, 1)], Rewards);

        Assert.False(batch.NeedsMore);
        Assert.Equal(["1a", "2b", "3a"], Ids(batch.Kept));         // in generation order, cut at the target (3b dropped by the cut)
        Assert.Equal(7, batch.Generated.Count);
        Assert.Equal(3, batch.DroppedGroups);
        Assert.Equal(
            new Dictionary<string, double> { ["dapo/generation_batches"] = 3, ["dapo/kept_groups"] = 3, ["dapo/dropped_groups"] = 3 },
            batch.Metrics());
    }

    [Fact]
    public void Add_MoreKeptThanTheTargetInOneBatch_KeepsTheFirstTarget()
    {
        var batch = new DynamicSamplingBatch(target: 2, maxBatches: 10);

        batch.Add([Group("a", 1, 0), Group("b", 0, 1), Group("c", 1, 0), Group("d", 1, 0)], Rewards);

        Assert.False(batch.NeedsMore);
        Assert.Equal(["a", "b"], Ids(batch.Kept));
        Assert.Equal(2.0, batch.Metrics()["dapo/kept_groups"]);
        Assert.Equal(0.0, batch.Metrics()["dapo/dropped_groups"]);
        Assert.Equal(1.0, batch.Metrics()["dapo/generation_batches"]);
    }

    [Fact]
    public void NeedsMore_AtMaxBatchesWithFewerKept_IsFalseAndTheStepTrainsOnWhatWasKept()
    {
        var batch = new DynamicSamplingBatch(target: 4, maxBatches: 2);

        batch.Add([Group("1a", 1, 1), Group("1b", 1, 0)], Rewards);
        Assert.True(batch.NeedsMore);
        batch.Add([Group("2a", 0, 0), Group("2b", 0, 1)], Rewards);

        Assert.False(batch.NeedsMore);                  // verl would raise here; AgentRl trains on the 2 kept groups
        Assert.Equal(["1b", "2b"], Ids(batch.Kept));
        Assert.Equal(
            new Dictionary<string, double> { ["dapo/generation_batches"] = 2, ["dapo/kept_groups"] = 2, ["dapo/dropped_groups"] = 2 },
            batch.Metrics());
    }

    [Fact]
    public void NeedsMore_NoBatchLimit_GoesOnUntilTheTarget()
    {
        var batch = new DynamicSamplingBatch(target: 1, maxBatches: 0);

        for (var b = 0; b < 25; b++)
        {
            batch.Add([Group($"{b}", 1, 1)], Rewards);
            Assert.True(batch.NeedsMore);
        }
        batch.Add([Group("last", 1, 0)], Rewards);

        Assert.False(batch.NeedsMore);
        Assert.Equal(["last"], Ids(batch.Kept));
        Assert.Equal(26, batch.Batches);
        Assert.Equal(25, batch.DroppedGroups);
    }

    [Fact]
    public void Add_FiltersOnTheGivenMetric_NotTheRawReward()
    {
        // Equal task rewards, but one response runs into the overlong buffer: the shaped rewards (what the Rollout phase
        // passes) differ, so the group is kept; on the raw rewards it would be dropped.
        var objective = AlgorithmRegistry.Objective("dapo");
        var group = new EpisodeResult("g", [Make("g", 1, length: 22, prompt: 2), Make("g", 1, length: 6, prompt: 2)], 1);
        var shaped = new DynamicSamplingBatch(target: 1, maxBatches: 10);
        var raw = new DynamicSamplingBatch(target: 1, maxBatches: 10);

        shaped.Add([group], g => [.. RewardShaping.ApplyOverlong(g.Trajectories, objective, contextBudget: 22).Select(t => t.Reward)]);
        raw.Add([group], Rewards);

        Assert.Equal(["g"], Ids(shaped.Kept));
        Assert.Empty(raw.Kept);
        Assert.Same(group, shaped.Kept[0]);            // the group is kept as generated (shaping happens in the Reward phase)
        Assert.Equal(1.0, shaped.Kept[0].Trajectories[0].Reward);
    }

    [Fact]
    public void Add_EmptyGenerationBatch_CountsAsABatch()
    {
        var batch = new DynamicSamplingBatch(target: 2, maxBatches: 1);

        batch.Add([], Rewards);

        Assert.False(batch.NeedsMore);
        Assert.Empty(batch.Kept);
        Assert.Equal(1.0, batch.Metrics()["dapo/generation_batches"]);
    }
}
