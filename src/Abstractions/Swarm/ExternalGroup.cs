using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Abstractions.Swarm;

/// <summary>How a receiver's trainer turns shared groups into its own trajectories.</summary>
/// <param name="Task">The receiver's task (its system prompt and tools make the prompt).</param>
/// <param name="TaskOptions">The receiver's task options.</param>
/// <param name="ContextBudget">A completion longer than this in the receiver's tokens drops its group.</param>
/// <param name="Correction"><c>none</c> or <c>truncated-is</c>.</param>
/// <param name="IsClip">c of the truncated importance weight.</param>
[GenerateSerializer, Immutable, Alias("agentrl.external-render-spec.v1")]
public sealed record ExternalRenderSpec(
    [property: Id(0)] string Task,
    [property: Id(1)] IReadOnlyDictionary<string, string> TaskOptions,
    [property: Id(2)] int ContextBudget,
    [property: Id(3)] string Correction,
    [property: Id(4)] double IsClip);

/// <summary>
/// A shared group in the receiver's tokens: one trajectory per completion (prompt and observations mask 0, assistant
/// tokens mask 1), whose logprobs are the receiver's current ones, and per-token loss weights where the correction applies.
/// </summary>
/// <param name="Source">The producer's run and group id.</param>
/// <param name="Trajectories">Rewards not yet set: the receiver's task scores them.</param>
/// <param name="TokenWeights">Per trajectory: truncated importance weights, or null (weight 1).</param>
/// <param name="CorrectedTokens">Generated tokens that got an importance weight.</param>
/// <param name="UncorrectedTokens">Generated tokens with no correction (none asked for, another tokenizer, or other tokens).</param>
/// <param name="Problem">Why the group could not be used (then no trajectories), or null.</param>
[GenerateSerializer, Immutable, Alias("agentrl.external-group.v1")]
public sealed record ExternalGroup(
    [property: Id(0)] string Source,
    [property: Id(1)] IReadOnlyList<Trajectory> Trajectories,
    [property: Id(2)] IReadOnlyList<float[]?> TokenWeights,
    [property: Id(3)] int CorrectedTokens,
    [property: Id(4)] int UncorrectedTokens,
    [property: Id(5)] string? Problem = null);
