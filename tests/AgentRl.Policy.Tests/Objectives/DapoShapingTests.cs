using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class DapoShapingTests
{
    [Fact]
    public void FilterGroups_AllEqualGroups_AreDroppedAndSingletonsKept()
    {
        // a = {1, 1, 1} dropped (all correct); b = {0, 1, 0} kept; c = {0, 0} dropped; d = {0.5} kept (single member).
        double[] metric = [1, 1, 1, 0, 1, 0, 0, 0, 0.5];
        string[] groups = ["a", "a", "a", "b", "b", "b", "c", "c", "d"];
        var result = DynamicSampling.FilterGroups(metric, groups);
        Assert.Equal([3, 4, 5, 8], result.KeptIndices);
        Assert.Equal(2, result.KeptGroups);
        Assert.Equal(2, result.DroppedGroups);
        Assert.Equal(5, result.DroppedTrajectories);
        Assert.Equal(4, result.KeptTrajectories);
    }

    [Fact]
    public void FilterGroups_EqualNonRepresentableValues_AreDropped()
    {
        // 0.1 three times: a computed mean (0.30000000000000004/3) differs from 0.1, yet the spread is exactly 0.
        var result = DynamicSampling.FilterGroups([0.1, 0.1, 0.1, 0.1, 0.2], ["x", "x", "x", "y", "y"]);
        Assert.Equal([3, 4], result.KeptIndices);
        Assert.Equal(1, result.DroppedGroups);
    }

    [Theory]
    [InlineData(3, 8, 1, 10, true)]   // 3 < 8 kept, 1 < 10 batches → generate more
    [InlineData(8, 8, 4, 10, false)]  // enough prompts kept
    [InlineData(3, 8, 50, 0, true)]   // max ≤ 0: unlimited
    public void NeedsAnotherGenerationBatch_Budget_FollowsDapoTrainer(int kept, int train, int batches, int max, bool expected) =>
        Assert.Equal(expected, DynamicSampling.NeedsAnotherGenerationBatch(kept, train, batches, max));

    [Fact]
    public void NeedsAnotherGenerationBatch_BudgetExhausted_Throws() =>
        Assert.Throws<InvalidOperationException>(() => DynamicSampling.NeedsAnotherGenerationBatch(3, 8, 10, 10));

    [Theory]
    [InlineData(10000, 0.0)]   // below L_exp = 20480 − 4096 = 16384: min(positive, 0) = 0
    [InlineData(16384, 0.0)]   // exactly L_exp
    [InlineData(18432, -0.5)]  // −(18432 − 16384)/4096 = −2048/4096
    [InlineData(20480, -1.0)]  // −4096/4096 at max length
    public void Penalty_DapoDefaults_IsLinearInsideTheBuffer(int length, double expected) =>
        Close(expected, OverlongRewardShaping.Penalty(length));

    [Fact]
    public void Apply_CustomBufferAndFactor_AddsPenaltyToScores()
    {
        // max 1000, L_buf 200 → L_exp 800. Lengths 700, 900, 1000; factor 0.5:
        //   700 → 0; 900 → −(100/200)·0.5 = −0.25; 1000 → −(200/200)·0.5 = −0.5
        var shaped = OverlongRewardShaping.Apply([1f, 1f, 0f], [700, 900, 1000], maxResponseLength: 1000, bufferLength: 200, penaltyFactor: 0.5);
        Close([1f, 0.75f, -0.5f], shaped);
    }
}
