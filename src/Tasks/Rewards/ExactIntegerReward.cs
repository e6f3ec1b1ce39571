namespace AgentRl.Tasks.Rewards;

/// <summary>
/// Reward for tasks with an integer answer: correctness is an exact integer match of the tagged answer; format checks
/// the answer tag; tool_use is 1 when <c>tool</c> was called with a non-empty <c>argument</c>
/// (0 when a tool outside <c>allowedTools</c> was called).
/// </summary>
public static class ExactIntegerReward
{
    public static RewardResult Score(
        TaskItem item, FinishedConversation conversation, RewardWeights weights, IReadOnlyList<string> allowedTools, string tool, string argument)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(weights);
        var extracted = AnswerText.Extract(conversation.FinalText, out var wellFormed);
        var correct = AnswerText.TryParseInteger(extracted, out var predicted)
            && AnswerText.TryParseInteger(item.Answer, out var truth)
            && predicted == truth;
        var correctness = correct ? 1.0 : 0.0;
        var format = wellFormed ? 1.0 : 0.0;
        var toolUse = ToolCallChecks.ToolUseScore(conversation.ToolCalls, allowedTools, tool, argument, 1);
        return new RewardResult(
            weights.Combine(correctness, format, toolUse),
            new Dictionary<string, double>
            {
                [RewardParts.Correctness] = correctness,
                [RewardParts.Format] = format,
                [RewardParts.ToolUse] = toolUse,
            });
    }
}
