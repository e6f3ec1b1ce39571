using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rollouts;

namespace AgentRl.Pipeline.Tests.Rollouts;

public sealed class OffPolicyMaskTests
{
    private static Trajectory Carried() => new()
    {
        GroupId = "run/1/0",
        BranchPath = "0",
        // prompt, two tokens of version 4, a tool result, three tokens of version 5 (after the weights switched)
        TokenIds = [1, 2, 3, 4, 5, 6, 7, 8],
        PromptLength = 2,
        LossMask = [0, 0, 1, 1, 0, 1, 1, 1],
        Logprobs = [0, 0, -1, -1, 0, -1, -1, -1],
        Entropies = [0, 0, 1, 1, 0, 1, 1, 1],
        PolicyVersions = [-1, -1, 4, 4, -1, 5, 5, 5],
        FinishReason = FinishReason.Eos,
    };

    [Fact]
    public void MasksTheTokensOfOlderVersions_AndNothingElse()
    {
        var original = Carried();
        var (masked, count) = OffPolicyMask.Apply(original, currentVersion: 5);

        Assert.Equal(2, count);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 1, 1, 1 }, masked.LossMask);
        Assert.Equal(original.TokenIds, masked.TokenIds);
        Assert.Equal(new byte[] { 0, 0, 1, 1, 0, 1, 1, 1 }, original.LossMask);   // the input is not changed
    }

    [Fact]
    public void AFreshTrajectory_IsReturnedAsIs()
    {
        var original = Carried();
        var (kept, count) = OffPolicyMask.Apply(original, currentVersion: 4);

        Assert.Equal(0, count);
        Assert.Same(original, kept);
    }
}
