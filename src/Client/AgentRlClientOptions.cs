using Microsoft.Extensions.Logging;

namespace AgentRl.Client;

/// <summary>How <see cref="AgentRlClient.ConnectAsync"/> reaches a cluster.</summary>
public sealed class AgentRlClientOptions
{
    /// <summary><c>redis://host:port</c> or <c>localhost[:gatewayPort]</c>; for an embedded silo use AgentRl.Client.Embedded.</summary>
    public string Cluster { get; set; } = "localhost";

    /// <summary>The Orleans cluster id (default <c>agentrl</c>).</summary>
    public string ClusterId { get; set; } = "agentrl";

    /// <summary>The Orleans service id (default <c>agentrl</c>).</summary>
    public string ServiceId { get; set; } = "agentrl";

    /// <summary>The least level of Orleans' and AgentRl's logs written to stderr (default <see cref="LogLevel.Warning"/>).</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Warning;

    /// <summary>How often a gateway that does not answer yet is retried before the connection fails (default 5, a second apart).</summary>
    public int ConnectRetries { get; set; } = 5;

    /// <summary>Mutual TLS to a cluster whose silos set <c>AgentRl:Security</c>: this client's certificate and the silos' it trusts. Default off.</summary>
    public AgentRl.Abstractions.Cluster.ClusterSecurityOptions Security { get; set; } = new();
}

/// <summary>The client could not reach the cluster (or start an embedded silo); the message says why.</summary>
public sealed class ClusterConnectionException(string message, Exception inner) : Exception(message, inner);
