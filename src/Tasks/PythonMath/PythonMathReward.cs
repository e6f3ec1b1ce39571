using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.PythonMath;

/// <summary>
/// Reward of python-math: exact integer match of the tagged answer, the answer-tag format, and a valid
/// <c>python-run</c> call with <c>code</c> (see <see cref="ExactIntegerReward"/>).
/// </summary>
public static class PythonMathReward
{
    public static RewardResult Score(TaskItem item, FinishedConversation conversation, RewardWeights weights) =>
        ExactIntegerReward.Score(item, conversation, weights, PythonMathTask.Tools, PythonMathTask.PythonTool, PythonMathTask.CodeArgument);
}
