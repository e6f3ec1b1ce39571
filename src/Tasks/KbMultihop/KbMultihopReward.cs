using System.Globalization;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.KbMultihop;

/// <summary>
/// Reward of kb-multihop: correctness is exact match and f1 is SQuAD token F1 of the tagged answer (both after
/// lowercasing and stripping punctuation and articles); format checks the answer tag; tool_use is the share of the
/// question's hops covered by valid <c>kb-search</c> calls (0 when a disallowed tool was called). The correctness
/// weight multiplies f1 or exact match, as chosen.
/// </summary>
public static class KbMultihopReward
{
    public static RewardResult Score(TaskItem item, FinishedConversation conversation, RewardWeights weights, bool scoreWithF1 = true)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(weights);
        var extracted = AnswerText.Extract(conversation.FinalText, out var wellFormed);
        var exact = extracted is not null && AnswerText.ExactMatch(extracted, item.Answer) ? 1.0 : 0.0;
        var f1 = extracted is null ? 0.0 : AnswerText.TokenF1(extracted, item.Answer);
        var format = wellFormed ? 1.0 : 0.0;
        var hops = item.Metadata.TryGetValue(KbMultihopTask.HopsKey, out var h) && int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
        var toolUse = ToolCallChecks.ToolUseScore(
            conversation.ToolCalls, KbMultihopTask.Tools, KbMultihopTask.SearchTool, KbMultihopTask.QueryArgument, hops);
        return new RewardResult(
            weights.Combine(scoreWithF1 ? f1 : exact, format, toolUse),
            new Dictionary<string, double>
            {
                [RewardParts.Correctness] = exact,
                [RewardParts.F1] = f1,
                [RewardParts.Format] = format,
                [RewardParts.ToolUse] = toolUse,
            });
    }
}
