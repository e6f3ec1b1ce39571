using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Swarm;

/// <summary>
/// One completion of a shared group, as text: the turns after the prompt (assistant text with its tool calls, tool
/// observations, further assistant turns), never token ids, so that any tokenizer can read it.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.shared-completion.v1")]
public sealed record SharedCompletion
{
    /// <summary>The turns after the prompt: an assistant turn first, then tool results or a user turn after each assistant turn.</summary>
    [Id(0)] public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>
    /// Whether the last assistant turn ended with the end of turn (false when the producer's rollout was cut by a token
    /// budget: the receiver then renders that turn without its end-of-turn token).
    /// </summary>
    [Id(1)] public bool Finished { get; init; } = true;

    /// <summary>The producer's task reward: informational only, a receiver rescores with its own task.</summary>
    [Id(2)] public double ProducerReward { get; init; }

    /// <summary>The named parts of <see cref="ProducerReward"/>.</summary>
    [Id(3)] public IReadOnlyDictionary<string, double> ProducerRewardParts { get; init; } = new Dictionary<string, double>();

    /// <summary>The producer's behaviour logprob of each token it generated, in order (empty when not kept).</summary>
    [Id(4)] public float[] BehaviourLogprobs { get; init; } = [];

    /// <summary>
    /// A hash of the producer's generated token ids (in order), so a receiver with the same tokenizer can check that its
    /// re-tokenisation gives the same tokens before it pairs them with <see cref="BehaviourLogprobs"/>. Empty when not kept.
    /// </summary>
    [Id(5)] public string BehaviourTokensHash { get; init; } = "";
}
