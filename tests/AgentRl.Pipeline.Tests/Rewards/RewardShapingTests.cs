using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rewards;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;

namespace AgentRl.Pipeline.Tests.Rewards;

/// <summary>The Reward phase's shaping: DAPO's overlong penalty and reward parts.</summary>
public sealed class RewardShapingTests
{
    private static readonly ObjectiveOptions Dapo = AlgorithmRegistry.Objective("dapo");

    private static Trajectory Make(double reward, int length, int prompt, IReadOnlyDictionary<string, double>? parts = null) => new()
    {
        GroupId = "g",
        BranchPath = "0",
        TokenIds = [.. Enumerable.Range(1, length)],
        PromptLength = prompt,
        LossMask = [.. Enumerable.Range(0, length).Select(t => (byte)(t >= prompt ? 1 : 0))],
        Logprobs = new float[length],
        Entropies = new float[length],
        PolicyVersions = new long[length],
        FinishReason = FinishReason.Length,
        Reward = reward,
        RewardParts = parts ?? new Dictionary<string, double> { ["task"] = reward },
    };

    [Theory]
    // context 22, prompt 2: max response 20, default L_buf = 20 / 5 = 4, so L_exp = 16.
    [InlineData(5, 0.0)]
    [InlineData(16, 0.0)]     // exactly L_exp
    [InlineData(17, -0.25)]   // −1/4
    [InlineData(18, -0.5)]
    [InlineData(20, -1.0)]    // −factor at max length
    public void OverlongPenalty_DefaultBuffer_ZeroUpToMaxMinusBufferThenLinearToMinusFactor(int response, double expected)
    {
        var penalty = RewardShaping.OverlongPenalty(Make(1, length: 2 + response, prompt: 2), Dapo, contextBudget: 22);

        Assert.Equal(expected, penalty, 1e-12);
    }

    [Theory]
    [InlineData(12, 0.0)]     // L_buf 8 → L_exp = 12
    [InlineData(16, -0.25)]   // −(4/8)·0.5
    [InlineData(20, -0.5)]
    public void OverlongPenalty_ExplicitBufferAndFactor(int response, double expected)
    {
        var objective = Dapo with { OverlongBufferLength = 8, OverlongPenaltyFactor = 0.5 };

        var penalty = RewardShaping.OverlongPenalty(Make(1, length: 2 + response, prompt: 2), objective, contextBudget: 22);

        Assert.Equal(expected, penalty, 1e-12);
    }

    [Fact]
    public void OverlongPenalty_DefaultBuffer_IsAFifthOfTheMaxResponse()
    {
        // max response 100 → L_buf 20, L_exp 80: response 90 gets −10/20. With DAPO's absolute 4096 (clamped to the
        // max) every response would be penalised: −90/100.
        var trajectory = Make(1, length: 100, prompt: 10);

        Assert.Equal(-0.5, RewardShaping.OverlongPenalty(trajectory, Dapo, contextBudget: 110), 1e-12);
        Assert.Equal(-0.9, RewardShaping.OverlongPenalty(trajectory, Dapo with { OverlongBufferLength = 4096 }, contextBudget: 110), 1e-12);
    }

    [Fact]
    public void OverlongPenalty_MaxResponseIsTheContextBudgetLessThePrompt()
    {
        // Both 28 tokens in a 30-token context. Prompt 10: response 18 of max 20 (L_buf 4, L_exp 16) → −2/4.
        // Prompt 5: response 23 of max 25 (L_buf 5, L_exp 20) → −3/5.
        Assert.Equal(-0.5, RewardShaping.OverlongPenalty(Make(1, length: 28, prompt: 10), Dapo, contextBudget: 30), 1e-12);
        Assert.Equal(-0.6, RewardShaping.OverlongPenalty(Make(1, length: 28, prompt: 5), Dapo, contextBudget: 30), 1e-12);
    }

    [Fact]
    public void OverlongPenalty_CountsToolTokensOfTheResponse()
    {
        // The response is every token after the prompt, generated or not: masking tool output out changes nothing.
        var plain = Make(1, length: 22, prompt: 2);
        var withTool = plain with { LossMask = [.. plain.LossMask.Select((m, t) => t is >= 8 and < 18 ? (byte)0 : m)] };

        Assert.Equal(-1.0, RewardShaping.OverlongPenalty(withTool, Dapo, contextBudget: 22), 1e-12);
        Assert.Equal(RewardShaping.OverlongPenalty(plain, Dapo, contextBudget: 22), RewardShaping.OverlongPenalty(withTool, Dapo, contextBudget: 22));
    }

    [Fact]
    public void ApplyOverlong_AddsThePenaltyToRewardAndAsARewardPart()
    {
        Trajectory[] input = [Make(1, length: 22, prompt: 2), Make(0.5, length: 20, prompt: 2), Make(0, length: 6, prompt: 2)];

        var shaped = RewardShaping.ApplyOverlong(input, Dapo, contextBudget: 22);

        Assert.Equal([0.0, 0.0, 0.0], shaped.Select(t => t.Reward), new Tolerance());        // 1 − 1, 0.5 − 0.5, 0 − 0
        Assert.Equal([-1.0, -0.5, 0.0], shaped.Select(t => t.RewardParts[RewardShaping.OverlongPenaltyPart]), new Tolerance());
        Assert.Equal([1.0, 0.5, 0.0], shaped.Select(t => t.RewardParts["task"]));
        Assert.Equal("overlong_penalty", RewardShaping.OverlongPenaltyPart);
        // The input is unchanged.
        Assert.Equal([1.0, 0.5, 0.0], input.Select(t => t.Reward));
        Assert.All(input, t => Assert.False(t.RewardParts.ContainsKey(RewardShaping.OverlongPenaltyPart)));
        Assert.Same(input[0].TokenIds, shaped[0].TokenIds);
    }

    [Fact]
    public void ApplyOverlong_ShapingOff_LeavesRewardsAsTheyAre()
    {
        Trajectory[] input = [Make(1, length: 22, prompt: 2)];

        var shaped = RewardShaping.ApplyOverlong(input, Dapo with { OverlongBuffer = false }, contextBudget: 22);

        Assert.Equal(1.0, shaped[0].Reward);
        Assert.False(shaped[0].RewardParts.ContainsKey(RewardShaping.OverlongPenaltyPart));
    }

    [Fact]
    public void Add_AddsAPartAndKeepsTheInputUnchanged()
    {
        var parts = new Dictionary<string, double> { ["task"] = 1, [RewardShaping.KlPenaltyPart] = -0.1 };
        Trajectory[] input = [Make(1, length: 8, prompt: 2, parts), Make(2, length: 8, prompt: 2)];

        var added = RewardShaping.Add(input, [-0.25, 0.5], RewardShaping.KlPenaltyPart);

        Assert.Equal([0.75, 2.5], added.Select(t => t.Reward));
        Assert.Equal(-0.35, added[0].RewardParts[RewardShaping.KlPenaltyPart], 1e-12);  // an existing part accumulates
        Assert.Equal(0.5, added[1].RewardParts[RewardShaping.KlPenaltyPart]);
        Assert.Equal(1.0, added[0].RewardParts["task"]);
        Assert.Equal([1.0, 2.0], input.Select(t => t.Reward));
        Assert.Equal(-0.1, parts[RewardShaping.KlPenaltyPart]);
        Assert.Equal(2, parts.Count);
        Assert.False(input[1].RewardParts.ContainsKey(RewardShaping.KlPenaltyPart));
        Assert.Equal("kl_penalty", RewardShaping.KlPenaltyPart);
    }

    [Fact]
    public void Add_AmountCountDiffers_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => RewardShaping.Add([Make(1, 8, 2), Make(1, 8, 2)], [0.5], "x"));

        Assert.Contains("2 trajectories need as many amounts (got 1)", e.Message);
    }

    private sealed class Tolerance : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-12;

        public int GetHashCode(double obj) => 0;
    }
}
