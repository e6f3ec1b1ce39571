using System.Security.Cryptography;
using System.Text;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;

namespace AgentRl.Pipeline.Swarm;

/// <summary>Who publishes a group: the run, its policy and version, its tokenizer, the step.</summary>
public sealed record Producer(string RunId, string PolicyId, long PolicyVersion, string TokenizerId, int Step);

/// <summary>
/// Shared groups from a run's own rollout groups, their content hash (for dedup), and whether a group is informative
/// (its rewards differ, so GRPO-style advantages are not all zero).
/// </summary>
public static class SharedGroups
{
    /// <summary>
    /// The group as text: for each trajectory the turns after its prompt (the system and first user message are the
    /// task's own and every receiver renders its own), its task reward and parts, and its behaviour logprobs with a hash
    /// of the generated ids they belong to.
    /// </summary>
    public static SharedGroup FromEpisode(EpisodeResult group, string task, string itemJson, Producer producer, DateTime producedAt)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(producer);
        return new SharedGroup
        {
            Task = task,
            ItemJson = itemJson,
            GroupId = group.EpisodeId,
            Completions = [.. group.Trajectories.Select(Completion)],
            ProducerRunId = producer.RunId,
            PolicyId = producer.PolicyId,
            PolicyVersion = producer.PolicyVersion,
            TokenizerId = producer.TokenizerId,
            Step = producer.Step,
            ProducedAt = producedAt,
        };
    }

    /// <summary>One trajectory's completion: the messages after the prompt, its reward, and its behaviour logprobs.</summary>
    public static SharedCompletion Completion(Trajectory trajectory)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        var messages = trajectory.Conversation.SkipWhile(m => m.Role == ChatRole.System).Skip(1).ToList();
        var generated = new List<int>();
        var logprobs = new List<float>();
        for (var t = 0; t < trajectory.TokenIds.Length; t++)
        {
            if (trajectory.LossMask[t] != 0)
            {
                generated.Add(trajectory.TokenIds[t]);
                logprobs.Add(trajectory.Logprobs[t]);
            }
        }

        return new SharedCompletion
        {
            Messages = messages,
            Finished = trajectory.FinishReason == FinishReason.Eos,
            ProducerReward = trajectory.Reward,
            ProducerRewardParts = trajectory.RewardParts,
            BehaviourLogprobs = [.. logprobs],
            BehaviourTokensHash = TokensHash(generated),
        };
    }

    /// <summary>
    /// Whether a trajectory of the group wrote a tool call that did not parse. Its conversation keeps the turn's text
    /// without the broken block (and the error the model was shown), so a receiver's re-rendering would train tokens the
    /// producer never wrote; such a group is not shared.
    /// </summary>
    public static bool HasMalformedCall(EpisodeResult group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.Trajectories.Any(t => t.ToolCalls.Any(c => !c.Invoked && c.ErrorKind == AgentRl.Tools.Catalog.ToolErrorKinds.BadJson));
    }

    /// <summary>Whether the producer's rewards of the group differ (a group whose rewards are all equal teaches GRPO nothing).</summary>
    public static bool IsInformative(SharedGroup group) =>
        group.Completions.Count > 1 && group.Completions.Any(c => c.ProducerReward != group.Completions[0].ProducerReward);

    /// <summary>Whether rewards differ.</summary>
    public static bool IsInformative(IEnumerable<double> rewards)
    {
        var list = rewards.ToList();
        return list.Count > 1 && list.Any(r => r != list[0]);
    }

    /// <summary>A hash of token ids in order (hex, 128 bits).</summary>
    public static string TokensHash(IReadOnlyList<int> ids)
    {
        var bytes = new byte[ids.Count * 4];
        for (var i = 0; i < ids.Count; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), ids[i]);
        }

        return Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 16));
    }

    /// <summary>
    /// The content hash of a group: task, item and every completion's messages (not who produced it, nor when). Two
    /// publishes of the same content are one group.
    /// </summary>
    public static string ContentHash(SharedGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var text = new StringBuilder();
        Field(text, group.Task);
        Field(text, group.ItemJson);
        foreach (var completion in group.Completions)
        {
            text.Append('C').Append(completion.Finished ? '1' : '0');
            foreach (var message in completion.Messages ?? [])
            {
                Field(text, message.Role.ToString());
                Field(text, message.Content);
                Field(text, message.ToolName ?? "");
                foreach (var call in message.ToolCalls ?? [])
                {
                    Field(text, call.Name);
                    Field(text, call.ArgumentsJson);
                }
            }
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void Field(StringBuilder text, string? value) =>
        text.Append((value ?? "").Length).Append(':').Append(value).Append(';');
}
