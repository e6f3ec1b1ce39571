namespace AgentRl.Abstractions.Cluster;

/// <summary>The silo metadata keys AgentRl reads (placement, cluster status).</summary>
public static class SiloMetadataKeys
{
    /// <summary><c>cuda</c> when the silo's TorchSharp sees a GPU, else <c>cpu</c>; overridable by configuration.</summary>
    public const string Accelerator = "agentrl.accelerator";

    /// <summary>Comma-separated roles the silo serves, e.g. <c>rollout,trainer,tools</c>.</summary>
    public const string Roles = "agentrl.roles";

    /// <summary><c>true</c> when the silo may host a trainer on CPU while no <c>cuda</c> silo is active (<c>AgentRl:Silo:AllowCpuTrainer</c>).</summary>
    public const string AllowCpuTrainer = "agentrl.allow-cpu-trainer";
}

/// <summary>One silo as <c>agentrl cluster status</c> shows it.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.silo-info.v1")]
public sealed record SiloInfo(
    [property: Id(0)] string Address,
    [property: Id(1)] string Name,
    [property: Id(2)] string HostName,
    [property: Id(3)] string Status,
    [property: Id(4)] DateTime StartedUtc,
    [property: Id(5)] IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Answers questions about the cluster from inside it: membership joined with each silo's metadata
/// (which a client cannot read directly). Key: 0.
/// </summary>
public interface IClusterInfoGrain : IGrainWithIntegerKey
{
    /// <summary>Every silo the membership table knows, active ones first; metadata is empty for silos that are gone.</summary>
    Task<IReadOnlyList<SiloInfo>> GetSilosAsync(CancellationToken cancellationToken = default);
}
