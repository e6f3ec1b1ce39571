namespace AgentRl.Abstractions.Rollouts;

/// <summary>How tokens are sampled. Temperature 0 is greedy.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.sampling.v1")]
public sealed record SamplingSettings(
    [property: Id(0)] double Temperature = 1.0,
    [property: Id(1)] double TopP = 1.0,
    [property: Id(2)] int TopK = 0,
    [property: Id(3)] int TopLogprobs = 0);
