using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.Arithmetic;

/// <summary>
/// Reward of the arithmetic task: exact integer match of the tagged answer, the answer-tag format, and a valid
/// <c>calculator-evaluate</c> call with an <c>expression</c> (see <see cref="ExactIntegerReward"/>).
/// </summary>
public static class ArithmeticReward
{
    public static RewardResult Score(TaskItem item, FinishedConversation conversation, RewardWeights weights) =>
        ExactIntegerReward.Score(item, conversation, weights, ArithmeticTask.Tools, ArithmeticTask.CalculatorTool, ArithmeticTask.ExpressionArgument);
}
