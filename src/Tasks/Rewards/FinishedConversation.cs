using AgentRl.Abstractions.Chat;

namespace AgentRl.Tasks.Rewards;

/// <summary>What a reward sees of a finished episode: the final assistant text and every tool call made, in order.</summary>
public sealed record FinishedConversation(string FinalText, IReadOnlyList<ToolCall> ToolCalls)
{
    /// <summary>
    /// The final text is the content of the last assistant turn; the tool calls are those of all assistant turns.
    /// </summary>
    public static FinishedConversation FromMessages(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var calls = new List<ToolCall>();
        var finalText = string.Empty;
        foreach (var message in messages)
        {
            if (message.Role != ChatRole.Assistant)
            {
                continue;
            }

            finalText = message.Content;
            if (message.ToolCalls is { } turnCalls)
            {
                calls.AddRange(turnCalls);
            }
        }

        return new FinishedConversation(finalText, calls);
    }
}
