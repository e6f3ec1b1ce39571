using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.Arithmetic;

/// <summary>
/// Reward of the arithmetic task: correctness is an exact integer match of the tagged answer; format checks the
/// answer tag; tool_use is 1 when <c>calculator-evaluate</c> was called with an <c>expression</c> (0 when a
/// disallowed tool was called).
/// </summary>
public static class ArithmeticReward
{
    public static RewardResult Score(TaskItem item, FinishedConversation conversation, RewardWeights weights)
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
        var toolUse = ToolCallChecks.ToolUseScore(
            conversation.ToolCalls, ArithmeticTask.Tools, ArithmeticTask.CalculatorTool, ArithmeticTask.ExpressionArgument, 1);
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
