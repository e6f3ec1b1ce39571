using System.Net;

namespace AgentRl.Silo;

/// <summary>
/// How a silo finds the cluster and where it listens. Section <c>AgentRl:Cluster</c>; every field can also come from the
/// environment (<c>AgentRl__Cluster__Clustering=redis</c>) or the command line (<c>--clustering redis</c>).
/// </summary>
public sealed class SiloClusterOptions
{
    public const string SectionName = "AgentRl:Cluster";

    /// <summary><c>localhost</c> (default: a single-machine cluster), <c>redis</c> or <c>adonet</c>.</summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>Orleans cluster id: silos and clients with the same id form one cluster. Default <c>agentrl</c>.</summary>
    public string ClusterId { get; set; } = "agentrl";

    /// <summary>Orleans service id: stable across deployments (grain state is keyed by it). Default <c>agentrl</c>.</summary>
    public string ServiceId { get; set; } = "agentrl";

    /// <summary>Silo-to-silo port. Default 11111. Give each silo on one machine its own.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port. Default 30000. Give each silo on one machine its own.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos use to reach this one (redis/adonet). Default: 127.0.0.1.</summary>
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>localhost clustering only: the silo port of the primary silo. Default: this silo's own port (it is the primary).</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>Redis connection string (StackExchange.Redis syntax, e.g. <c>127.0.0.1:6379</c>) for <c>redis</c> clustering.</summary>
    public string? Redis { get; set; }

    /// <summary>ADO.NET invariant name for <c>adonet</c> clustering. Default <c>Npgsql</c> (PostgreSQL).</summary>
    public string AdoNetInvariant { get; set; } = "Npgsql";

    /// <summary>ADO.NET connection string for <c>adonet</c> clustering (the Orleans membership tables must exist).</summary>
    public string? AdoNetConnectionString { get; set; }

    /// <summary>Silo name shown by <c>agentrl cluster status</c>. Default: the machine name and silo port.</summary>
    public string? SiloName { get; set; }

    /// <summary>
    /// Runs the silo in a Kubernetes pod with <c>Microsoft.Orleans.Hosting.Kubernetes</c>: its name and address come from
    /// the pod (<c>POD_NAME</c>, <c>POD_NAMESPACE</c>, <c>POD_IP</c>, set by the manifest from the downward API), and the
    /// pods of silos the cluster declares dead are deleted so Kubernetes replaces them. Needs <c>redis</c> or <c>adonet</c>
    /// membership. Default false.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>The environment variables Kubernetes hosting reads from the pod.</summary>
    public static readonly string[] KubernetesPodVariables = ["POD_NAME", "POD_NAMESPACE", "POD_IP"];

    /// <summary>Returns every problem with these options, or none.</summary>
    public IEnumerable<string> Validate() => Validate(Environment.GetEnvironmentVariable);

    /// <summary>Returns every problem with these options, reading the pod's variables with <paramref name="environment"/>.</summary>
    public IEnumerable<string> Validate(Func<string, string?> environment)
    {
        if (Kubernetes && Clustering == "localhost")
        {
            yield return $"{SectionName}:Kubernetes needs redis or adonet clustering (localhost clustering cannot span pods).";
        }

        if (Kubernetes && KubernetesPodVariables.Where(v => string.IsNullOrWhiteSpace(environment(v))).ToList() is { Count: > 0 } missing)
        {
            yield return $"{SectionName}:Kubernetes reads {string.Join(", ", missing)} from the pod; set them from the downward API (fieldRef metadata.name, metadata.namespace, status.podIP) as deploy/k8s/agentrl.yaml does.";
        }

        if (Clustering is not ("localhost" or "redis" or "adonet"))
        {
            yield return $"{SectionName}:Clustering must be localhost, redis or adonet (got '{Clustering}').";
        }

        foreach (var (name, port) in new[] { ("SiloPort", SiloPort), ("GatewayPort", GatewayPort), ("PrimarySiloPort", PrimarySiloPort ?? 1) })
        {
            if (port is < 1 or > 65535)
            {
                yield return $"{SectionName}:{name} must be between 1 and 65535 (got {port}).";
            }
        }

        if (SiloPort == GatewayPort)
        {
            yield return $"{SectionName}:SiloPort and GatewayPort must differ (both {SiloPort}).";
        }

        if (!IPAddress.TryParse(AdvertisedIp, out _))
        {
            yield return $"{SectionName}:AdvertisedIp must be an IP address (got '{AdvertisedIp}').";
        }

        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId))
        {
            yield return $"{SectionName}:ClusterId and ServiceId must not be empty.";
        }

        if (Clustering == "redis" && string.IsNullOrWhiteSpace(Redis))
        {
            yield return $"{SectionName}:Redis is required for redis clustering (e.g. --redis 127.0.0.1:6379).";
        }

        if (Clustering == "adonet" && string.IsNullOrWhiteSpace(AdoNetConnectionString))
        {
            yield return $"{SectionName}:AdoNetConnectionString is required for adonet clustering.";
        }
    }
}
