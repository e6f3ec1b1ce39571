namespace AgentRl.Abstractions.Rollouts;

/// <summary>One generation call: continue <see cref="PrefixIds"/> (the exact token prefix) with at most <see cref="MaxNewTokens"/> tokens.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.generate-request.v1")]
public sealed record GenerateRequest(
    [property: Id(0)] int[] PrefixIds,
    [property: Id(1)] int MaxNewTokens,
    [property: Id(2)] SamplingSettings Sampling,
    [property: Id(3)] int Seed,
    [property: Id(4)] IReadOnlyList<int> StopTokenIds,
    [property: Id(5)] IReadOnlyList<string> StopStrings,
    [property: Id(6)] long MinPolicyVersion = 0);
