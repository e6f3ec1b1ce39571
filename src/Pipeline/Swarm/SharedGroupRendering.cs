using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Policy.Chat;

namespace AgentRl.Pipeline.Swarm;

/// <summary>A completion in the receiver's tokens: prompt and observations mask 0, assistant tokens mask 1.</summary>
/// <param name="TokenIds">The ids as the receiver's own rollout would hold them.</param>
/// <param name="LossMask">1 on the assistant's tokens.</param>
/// <param name="PromptLength">Tokens of the receiver's prompt.</param>
/// <param name="Conversation">The receiver's prompt messages followed by the completion's.</param>
/// <param name="MessageEnds">For each message of <paramref name="Conversation"/>, the token offset where it ends.</param>
public sealed record RenderedCompletion(int[] TokenIds, byte[] LossMask, int PromptLength, IReadOnlyList<ChatMessage> Conversation, int[] MessageEnds);

/// <summary>
/// Re-renders a shared completion with the receiver's chat template and tokenizer into an exact trajectory, the way the
/// receiver's own rollout (<see cref="Rollouts.MultiTurnRollout"/>) assembles one: <c>Start(system, tools, user)</c>,
/// then per assistant turn <see cref="IChatTemplate.EncodeAssistantTurn"/> (mask 1; an unfinished last turn without its
/// end-of-turn token), then <see cref="IChatTemplate.ToolResults(ReadOnlySpan{int}, IReadOnlyList{ToolResult})"/> or
/// <see cref="IChatTemplate.UserTurn"/> (mask 0). The prompt is the receiver's own: its task's system prompt and tools.
/// </summary>
public static class SharedGroupRendering
{
    /// <exception cref="ArgumentException">The completion is not a conversation of that shape.</exception>
    public static RenderedCompletion Render(IChatTemplate template, string? systemPrompt, IReadOnlyList<ToolSpec> tools, string userPrompt, SharedCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(completion);
        var prompt = template.Start(systemPrompt, tools, userPrompt);
        var ids = new List<int>(prompt);
        var mask = new List<byte>(new byte[prompt.Length]);
        var conversation = new List<ChatMessage>();
        var ends = new List<int>();
        if (systemPrompt is not null)
        {
            conversation.Add(ChatMessage.System(systemPrompt));
            ends.Add(prompt.Length);
        }

        conversation.Add(ChatMessage.User(userPrompt));
        ends.Add(prompt.Length);
        var messages = completion.Messages;
        int[] generated = [];
        var i = 0;
        while (i < messages.Count)
        {
            var message = messages[i];
            switch (message.Role)
            {
                case ChatRole.Assistant:
                    generated = template.EncodeAssistantTurn(message);
                    if (!completion.Finished && i == messages.Count - 1 && message.ToolCalls is not { Count: > 0 } && generated.Length > 0 && generated[^1] == template.EndOfTurnId)
                    {
                        generated = generated[..^1];   // the producer's turn was cut before its end of turn
                    }

                    ids.AddRange(generated);
                    mask.AddRange(Enumerable.Repeat((byte)1, generated.Length));
                    conversation.Add(message);
                    ends.Add(ids.Count);
                    i++;
                    break;
                case ChatRole.Tool:
                    var results = new List<ToolResult>();
                    var first = i;
                    while (i < messages.Count && messages[i].Role == ChatRole.Tool)
                    {
                        results.Add(new ToolResult(messages[i].ToolName ?? "", messages[i].Content));
                        i++;
                    }

                    Append(template.ToolResults(generated, results));
                    conversation.AddRange(messages.Skip(first).Take(i - first));
                    ends.AddRange(Enumerable.Repeat(ids.Count, i - first));
                    break;
                case ChatRole.User when i > 0:
                    Append(template.UserTurn(generated, message.Content));
                    conversation.Add(message);
                    ends.Add(ids.Count);
                    i++;
                    break;
                default:
                    throw new ArgumentException($"Message {i} is {message.Role}; a completion holds assistant turns, tool results and user turns after an assistant turn.", nameof(completion));
            }
        }

        return new RenderedCompletion([.. ids], [.. mask], prompt.Length, conversation, [.. ends]);

        void Append(int[] appended)
        {
            ids.AddRange(appended);
            mask.AddRange(new byte[appended.Length]);
        }
    }

    /// <summary>
    /// The producer's behaviour logprobs placed on the receiver's tokens (0 elsewhere), when they belong to them: the same
    /// tokenizer, as many generated tokens, and the same generated ids (by hash). Null otherwise: no correction possible.
    /// </summary>
    public static float[]? AlignBehaviour(RenderedCompletion rendered, SharedCompletion completion, string producerTokenizerId, string receiverTokenizerId)
    {
        ArgumentNullException.ThrowIfNull(rendered);
        ArgumentNullException.ThrowIfNull(completion);
        if (!string.Equals(producerTokenizerId, receiverTokenizerId, StringComparison.Ordinal) || completion.BehaviourLogprobs is not { Length: > 0 } behaviour)
        {
            return null;
        }

        var generated = new List<int>();
        for (var t = 0; t < rendered.TokenIds.Length; t++)
        {
            if (rendered.LossMask[t] != 0)
            {
                generated.Add(rendered.TokenIds[t]);
            }
        }

        if (generated.Count != behaviour.Length || SharedGroups.TokensHash(generated) != completion.BehaviourTokensHash)
        {
            return null;
        }

        var aligned = new float[rendered.TokenIds.Length];
        for (int t = 0, k = 0; t < aligned.Length; t++)
        {
            if (rendered.LossMask[t] != 0)
            {
                aligned[t] = behaviour[k++];
            }
        }

        return aligned;
    }

    /// <summary>A rendered completion as a trajectory of group <paramref name="groupId"/> (logprobs 0 until the receiver's are filled in).</summary>
    public static Trajectory ToTrajectory(RenderedCompletion rendered, string groupId, int index, bool finished)
    {
        ArgumentNullException.ThrowIfNull(rendered);
        var n = rendered.TokenIds.Length;
        return new Trajectory
        {
            GroupId = groupId,
            BranchPath = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TokenIds = rendered.TokenIds,
            PromptLength = rendered.PromptLength,
            LossMask = rendered.LossMask,
            Logprobs = new float[n],
            Entropies = new float[n],
            PolicyVersions = Enumerable.Repeat(-1L, n).ToArray(),
            FinishReason = finished ? FinishReason.Eos : FinishReason.Length,
            Conversation = rendered.Conversation,
            MessageEnds = rendered.MessageEnds,
        };
    }
}
