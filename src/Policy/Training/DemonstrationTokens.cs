using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;

namespace AgentRl.Policy.Training;

/// <summary>
/// Renders a demonstration conversation to ids exactly as a rollout builds them (docs/ARCHITECTURE.md §5), so that supervised
/// warm start trains on the token stream RL will see: <c>template.Start(system, tools, user)</c>, then per assistant
/// message its <see cref="IChatTemplate.EncodeAssistantTurn"/> ids (mask 1: content, tool-call blocks, end of turn),
/// then <see cref="IChatTemplate.ToolResults(ReadOnlySpan{int}, IReadOnlyList{ToolResult})"/> for the tool messages that
/// follow it or <see cref="IChatTemplate.UserTurn"/> for a following user message (mask 0).
/// </summary>
public static class DemonstrationTokens
{
    /// <summary>
    /// The ids and mask of <paramref name="messages"/>: an optional system message, a user message, then assistant turns
    /// each followed by its tool results or by a user message. Ends after an assistant turn.
    /// </summary>
    /// <exception cref="ArgumentException">The conversation does not have that shape.</exception>
    public static SftExample Build(IChatTemplate template, IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(messages);
        var i = 0;
        string? system = null;
        if (messages.Count > 0 && messages[0].Role == ChatRole.System)
        {
            system = messages[0].Content;
            i++;
        }
        if (i >= messages.Count || messages[i].Role != ChatRole.User)
        {
            throw new ArgumentException("A demonstration starts with an optional system message and a user message.", nameof(messages));
        }

        var ids = new List<int>(template.Start(system, tools, messages[i].Content));
        var mask = new List<byte>(new byte[ids.Count]);
        i++;
        if (i >= messages.Count)
        {
            throw new ArgumentException("A demonstration needs at least one assistant message.", nameof(messages));
        }
        while (i < messages.Count)
        {
            if (messages[i].Role != ChatRole.Assistant)
            {
                throw new ArgumentException($"Message {i} is {messages[i].Role}; an assistant turn was expected.", nameof(messages));
            }
            var generated = template.EncodeAssistantTurn(messages[i]);
            ids.AddRange(generated);
            mask.AddRange(Enumerable.Repeat((byte)1, generated.Length));
            i++;
            if (i >= messages.Count)
            {
                break;
            }

            int[] appended;
            if (messages[i].Role == ChatRole.Tool)
            {
                var results = new List<ToolResult>();
                while (i < messages.Count && messages[i].Role == ChatRole.Tool)
                {
                    results.Add(new ToolResult(messages[i].ToolName ?? string.Empty, messages[i].Content));
                    i++;
                }
                appended = template.ToolResults(generated, results);
            }
            else if (messages[i].Role == ChatRole.User)
            {
                appended = template.UserTurn(generated, messages[i].Content);
                i++;
            }
            else
            {
                throw new ArgumentException($"Message {i} is {messages[i].Role}; tool results or a user message were expected.", nameof(messages));
            }
            if (i >= messages.Count)
            {
                throw new ArgumentException("A demonstration ends with an assistant message.", nameof(messages));
            }
            ids.AddRange(appended);
            mask.AddRange(new byte[appended.Length]);
        }
        return new SftExample([.. ids], [.. mask]);
    }
}
