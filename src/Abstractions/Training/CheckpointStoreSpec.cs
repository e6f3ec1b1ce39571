namespace AgentRl.Abstractions.Training;

/// <summary>The checkpoint store a run's trainer publishes to, and from which other silos load published versions.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.checkpoint-store-spec.v1")]
public sealed record CheckpointStoreSpec(
    [property: Id(0)] string Kind,
    [property: Id(1)] string? ConnectionString,
    [property: Id(2)] string Container,
    [property: Id(3)] string Prefix,
    [property: Id(4)] string RunId)
{
    public const string Local = "local";

    public const string AzureBlob = "azure-blob";
}
