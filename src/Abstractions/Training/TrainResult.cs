namespace AgentRl.Abstractions.Training;

/// <summary>Loss parts, clip fractions, KL, entropy, gradient norm, tokens/s of one update, and the new version.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.train-result.v1")]
public sealed record TrainResult(
    [property: Id(0)] long PolicyVersion,
    [property: Id(1)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(2)] string? CheckpointLocation);
