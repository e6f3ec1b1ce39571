using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Swarm;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;

namespace AgentRl.Pipeline.Swarm;

/// <summary>
/// Checks a group before a pool stores it: a known task and an item it accepts, between 1 and <see cref="PoolLimits.MaxGroupSize"/>
/// completions, each a well-formed conversation of bounded size, producer fields set, behaviour logprobs finite and ≤ 0.
/// </summary>
public sealed class SharedGroupValidator(TaskRegistry tasks, PoolLimits limits)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IAgentTask> _tasks = new(StringComparer.Ordinal);

    private IAgentTask? TaskWithDefaults(string name)
    {
        if (_tasks.TryGetValue(name, out var task))
        {
            return task;
        }

        try
        {
            return _tasks.GetOrAdd(name, n => tasks.Create(n));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Why the group cannot be stored, or null.</summary>
    public string? Problem(SharedGroup group)
    {
        if (group is null)
        {
            return "the group is null";
        }

        if (string.IsNullOrWhiteSpace(group.Task) || !tasks.Contains(group.Task))
        {
            return $"unknown task '{group.Task}'";
        }

        if (string.IsNullOrWhiteSpace(group.ProducerRunId) || string.IsNullOrWhiteSpace(group.PolicyId) || string.IsNullOrWhiteSpace(group.TokenizerId))
        {
            return "producerRunId, policyId and tokenizerId must be set";
        }

        if (string.IsNullOrEmpty(group.ItemJson) || group.ItemJson.Length > limits.MaxItemChars)
        {
            return $"the item must be 1 to {limits.MaxItemChars} characters of JSON";
        }

        var read = TaskItemJsonl.Read(new StringReader(group.ItemJson));
        if (read.Errors.Count > 0 || read.Items.Count != 1)
        {
            return "the item is not one task item: " + string.Join("; ", read.Errors.Select(e => e.Message));
        }

        var item = read.Items[0];
        if (item.Task != group.Task)
        {
            return $"the item belongs to task '{item.Task}', not '{group.Task}'";
        }

        // A group carries no task options; a task that cannot be built without them (jsonl needs its path) leaves the item
        // to the receivers, who rescore it with their own task and options anyway.
        if (TaskWithDefaults(group.Task)?.Validate(item) is { } itemProblem)
        {
            return "the item is not valid for its task: " + itemProblem;
        }

        if (group.Completions is null || group.Completions.Count == 0)
        {
            return "the group has no completions";
        }

        if (group.Completions.Count > limits.MaxGroupSize)
        {
            return $"the group has {group.Completions.Count} completions, over the limit of {limits.MaxGroupSize}";
        }

        for (var i = 0; i < group.Completions.Count; i++)
        {
            if (CompletionProblem(group.Completions[i]) is { } problem)
            {
                return $"completion {i}: {problem}";
            }
        }

        return null;
    }

    /// <summary>Why a completion is malformed, or null: it must read as a conversation a chat template can render.</summary>
    public string? CompletionProblem(SharedCompletion completion)
    {
        if (completion?.Messages is not { Count: > 0 } messages)
        {
            return "no messages";
        }

        if (messages[0].Role != ChatRole.Assistant)
        {
            return $"message 0 is {messages[0].Role}; a completion starts with an assistant turn";
        }

        var chars = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message is null || message.Content is null)
            {
                return $"message {i} has no content";
            }

            chars += message.Content.Length + (message.ToolCalls?.Sum(c => (c?.Name?.Length ?? 0) + (c?.ArgumentsJson?.Length ?? 0)) ?? 0);
            var previous = i == 0 ? (ChatRole?)null : messages[i - 1].Role;
            switch (message.Role)
            {
                case ChatRole.Assistant when previous == ChatRole.Assistant:
                    return $"message {i}: two assistant turns in a row";
                case ChatRole.Assistant:
                    foreach (var call in message.ToolCalls ?? [])
                    {
                        if (call is null || string.IsNullOrWhiteSpace(call.Name) || !IsJson(call.ArgumentsJson))
                        {
                            return $"message {i}: a tool call needs a name and JSON arguments";
                        }
                    }

                    break;
                case ChatRole.Tool when previous is not (ChatRole.Assistant or ChatRole.Tool):
                    return $"message {i}: a tool result must follow an assistant turn";
                case ChatRole.Tool when message.ToolCalls is { Count: > 0 }:
                    return $"message {i}: a tool result cannot make tool calls";
                case ChatRole.Tool:
                    break;
                case ChatRole.User when previous != ChatRole.Assistant:
                    return $"message {i}: a user turn must follow an assistant turn";
                case ChatRole.User when i == messages.Count - 1:
                    return $"message {i}: a completion cannot end with a user turn";
                case ChatRole.User:
                    break;
                default:
                    return $"message {i} is {message.Role}; only assistant, tool and user turns follow the prompt";
            }
        }

        if (chars > limits.MaxCompletionChars)
        {
            return $"{chars} characters, over the limit of {limits.MaxCompletionChars}";
        }

        var logprobs = completion.BehaviourLogprobs ?? [];
        if (logprobs.Any(l => !float.IsFinite(l) || l > 1e-4f))
        {
            return "behaviour logprobs must be finite and ≤ 0";
        }

        if (logprobs.Length > 0 && string.IsNullOrEmpty(completion.BehaviourTokensHash))
        {
            return "behaviour logprobs need the hash of the tokens they belong to";
        }

        return null;
    }

    private static bool IsJson(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
