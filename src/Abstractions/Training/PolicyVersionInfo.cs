namespace AgentRl.Abstractions.Training;

/// <summary>A published policy version and where its weights are.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.policy-version.v1")]
public sealed record PolicyVersionInfo(
    [property: Id(0)] long Version,
    [property: Id(1)] string? Location,
    [property: Id(2)] CheckpointStoreSpec? Store = null);
