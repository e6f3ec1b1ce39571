using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class TrajectoryExamplesTests
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

    [Fact]
    public void Build_HardAttributionOnATree_SharedPrefixGetsTheMeanAdvantageAndOwnTokensTheirOwn()
    {
        // Root 0 (reward 1) and its child 0.0 (reward 0) share tokens [0, 5); root 1 (reward 0) shares nothing.
        Trajectory[] trajectories =
        [
            Make("a", 1) with { BranchPath = "0" },
            Make("a", 0) with { BranchPath = "0.0", ParentPath = "0", ForkPosition = 5, Depth = 1 },
            Make("a", 0) with { BranchPath = "1" },
        ];

        var soft = TrajectoryExamples.Build(trajectories, AlgorithmRegistry.Objective("grpo"));
        var hard = TrajectoryExamples.Build(trajectories, AlgorithmRegistry.Objective("grpo"), new ExampleBuildOptions { Attribution = "hard" });

        Assert.All(soft.Examples, e => Assert.Null(e.TokenAdvantages));
        var a = soft.Advantages; // GRPO over the three full sequences, as soft attribution trains them
        var root = hard.Examples[0].TokenAdvantages!;
        var child = hard.Examples[1].TokenAdvantages!;
        var mean = (a[0] + a[1]) / 2;
        Assert.All(Enumerable.Range(0, 5), t => Assert.Equal(mean, root[t], 5));
        Assert.All(Enumerable.Range(0, 5), t => Assert.Equal(mean, child[t], 5));
        Assert.All(Enumerable.Range(5, 3), t => Assert.Equal(a[0], root[t], 5));
        Assert.All(Enumerable.Range(5, 3), t => Assert.Equal(a[1], child[t], 5));
        Assert.All(hard.Examples[2].TokenAdvantages!, v => Assert.Equal(a[2], v, 5));
    }

    [Fact]
    public void Build_Grpo_NormalisesWithinGroupsAndBroadcastsOverMask()
    {
        Trajectory[] trajectories = [Make("a", 1), Make("a", 0), Make("b", 2), Make("b", 2), Make("c", 5)];

        var batch = TrajectoryExamples.Build(trajectories, AlgorithmRegistry.Objective("grpo"));

        // group a: μ = 0.5, σ (n − 1) = √0.5 → ±0.7071; group b: all equal → 0; group c alone → raw score 5.
        Assert.Equal(5, batch.Examples.Count);
        Assert.Equal(0.5 / Math.Sqrt(0.5), batch.Advantages[0], 4);
        Assert.Equal(-0.5 / Math.Sqrt(0.5), batch.Advantages[1], 4);
        Assert.Equal(0, batch.Advantages[2], 6);
        Assert.Equal(5, batch.Advantages[4], 4);
        Assert.Same(trajectories[0].TokenIds, batch.Examples[0].TokenIds);
        Assert.Equal(batch.Advantages[0], batch.Examples[0].Advantage);
    }

    [Fact]
    public void Build_Dapo_KeepsEveryGroupAndDoesNotShapeRewards()
    {
        // DAPO's group filter now runs in the Rollout phase (DynamicSamplingBatch) and overlong shaping in the Reward phase
        // (RewardShaping): here every trajectory becomes an example and its advantage comes from its reward as given.
        Trajectory[] trajectories = [Make("a", 1, length: 12, prompt: 2), Make("a", 0), Make("b", 1), Make("b", 1), Make("c", 0.3)];

        var batch = TrajectoryExamples.Build(trajectories, AlgorithmRegistry.Objective("dapo") with { OverlongBufferLength = 4 });

        Assert.Equal(5, batch.Examples.Count);
        Assert.Equal(trajectories.Select(t => t.TokenIds), batch.Examples.Select(e => e.TokenIds));
        Assert.Equal(0.5 / Math.Sqrt(0.5), batch.Advantages[0], 4);   // reward 1 unshaped despite its length
        Assert.Equal(-0.5 / Math.Sqrt(0.5), batch.Advantages[1], 4);
        Assert.Equal(0, batch.Advantages[2], 6);                       // the spread-less group b is kept, advantage 0
        Assert.Equal(0, batch.Advantages[3], 6);
        Assert.Equal(0.3, batch.Advantages[4], 4);
    }

    [Fact]
    public void Advantages_ThenExamples_EqualBuild()
    {
        Trajectory[] trajectories = [Make("a", 1), Make("a", 0) with { BranchPath = "0.0", ParentPath = "0", ForkPosition = 5, Depth = 1 }, Make("b", 3)];
        var objective = AlgorithmRegistry.Objective("grpo");

        var advantages = TrajectoryExamples.Advantages(trajectories, objective, "hard");
        var examples = TrajectoryExamples.Examples(trajectories, advantages);
        var built = TrajectoryExamples.Build(trajectories, objective, new ExampleBuildOptions { Attribution = "hard" });

        Assert.Equal(built.Advantages, advantages.PerTrajectory);
        Assert.Equal(advantages.PerTrajectory, examples.Select(e => e.Advantage));
        Assert.Equal(built.Examples.Select(e => e.TokenAdvantages), examples.Select(e => e.TokenAdvantages));
        Assert.NotNull(advantages.PerToken[0]);
        Assert.Null(advantages.PerToken[2]);                           // group b has no forks
        Assert.Equal("a/0.0", examples[1].SequenceKey);
        Assert.Equal("a/0", examples[1].ParentKey);
        Assert.Equal(5, examples[1].ForkPosition);
    }

    [Fact]
    public void Advantages_UnknownAttribution_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => TrajectoryExamples.Advantages([Make("a", 1)], new ObjectiveOptions(), "medium"));
        Assert.Contains("medium", e.Message);
    }

    [Fact]
    public void Examples_AdvantageCountDiffers_Throws()
    {
        Trajectory[] trajectories = [Make("a", 1), Make("a", 0)];
        var e = Assert.Throws<ArgumentException>(() => TrajectoryExamples.Examples(trajectories, new TrajectoryAdvantages([1f], [null])));
        Assert.Contains("2 trajectories", e.Message);
    }
}
