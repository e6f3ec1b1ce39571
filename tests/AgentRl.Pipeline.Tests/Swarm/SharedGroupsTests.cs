using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Swarm;
using AgentRl.Tools.Catalog;

namespace AgentRl.Pipeline.Tests.Swarm;

/// <summary>Which own groups a swarm member may share.</summary>
public sealed class SharedGroupsTests
{
    private static Trajectory With(params ToolCallRecord[] calls) => new()
    {
        GroupId = "g",
        BranchPath = "0",
        TokenIds = [1, 2],
        PromptLength = 1,
        LossMask = [0, 1],
        Logprobs = [0, -0.5f],
        Entropies = [0, 0.1f],
        PolicyVersions = [-1, 0],
        FinishReason = FinishReason.Eos,
        ToolCalls = calls,
    };

    [Fact]
    public void HasMalformedCall_OnlyForACallThatDidNotParse()
    {
        // Its conversation keeps the turn without the broken block, so a receiver would re-render tokens never written.
        var malformed = new ToolCallRecord("", "<tool_call>{bad", "Malformed tool call: …", true, ToolErrorKinds.BadJson, 0, 0, 0, Invoked: false);
        var pastTheLimit = new ToolCallRecord("calculator-evaluate", """{"expression":"1+1"}""", "Tool-call limit reached", true, "tool_call_limit", 0, 0, 0, Invoked: false);
        var failedInTheTool = new ToolCallRecord("calculator-evaluate", """{"expression":"1/0"}""", "division by zero", true, ToolErrorKinds.BadArguments, 3, 0, 0);

        Assert.True(SharedGroups.HasMalformedCall(new EpisodeResult("e", [With(), With(failedInTheTool, malformed)], 0)));
        Assert.False(SharedGroups.HasMalformedCall(new EpisodeResult("e", [With(), With(pastTheLimit, failedInTheTool)], 0)));
    }
}
