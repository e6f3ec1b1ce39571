namespace AgentRl.Abstractions.Cluster;

/// <summary>One silo as <c>agentrl cluster status</c> shows it.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.silo-info.v1")]
public sealed record SiloInfo(
    [property: Id(0)] string Address,
    [property: Id(1)] string Name,
    [property: Id(2)] string HostName,
    [property: Id(3)] string Status,
    [property: Id(4)] DateTime StartedUtc,
    [property: Id(5)] IReadOnlyDictionary<string, string> Metadata);
