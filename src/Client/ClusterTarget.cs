namespace AgentRl.Client;

/// <summary>Where a client's calls go: an embedded silo in this process, or a cluster reached through Redis or a gateway.</summary>
/// <param name="Kind">Embedded, Redis or a localhost gateway.</param>
/// <param name="Address">Redis <c>host:port</c> (a StackExchange.Redis connection string) or the gateway port; null when embedded.</param>
/// <param name="ClusterId">The Orleans cluster id.</param>
/// <param name="ServiceId">The Orleans service id.</param>
public sealed record ClusterTarget(ClusterTargetKind Kind, string? Address, string ClusterId, string ServiceId)
{
    /// <summary>
    /// Parses a cluster address: empty or <c>embedded</c> (host a silo in this process), <c>redis://host:port</c>, or
    /// <c>localhost[:gatewayPort]</c> (a localhost-clustered silo, gateway 30000 by default).
    /// </summary>
    /// <exception cref="FormatException">The address is none of these.</exception>
    public static ClusterTarget Parse(string? value, string clusterId = "agentrl", string serviceId = "agentrl")
    {
        if (string.IsNullOrWhiteSpace(value) || value == "embedded")
        {
            return new(ClusterTargetKind.Embedded, null, clusterId, serviceId);
        }

        if (value.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
        {
            var address = value["redis://".Length..].TrimEnd('/');
            if (address.Length == 0)
            {
                throw new FormatException($"--cluster '{value}' names no Redis host; expected redis://host:port.");
            }

            return new(ClusterTargetKind.Redis, address, clusterId, serviceId);
        }

        if (value == "localhost" || value.StartsWith("localhost:", StringComparison.Ordinal))
        {
            var port = value == "localhost" ? 30000 : ParsePort(value["localhost:".Length..], value);
            return new(ClusterTargetKind.Localhost, port.ToString(System.Globalization.CultureInfo.InvariantCulture), clusterId, serviceId);
        }

        throw new FormatException($"--cluster '{value}' is not understood; use redis://host:port, localhost[:gatewayPort] or embedded.");
    }

    private static int ParsePort(string text, string whole) =>
        int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"--cluster '{whole}' has an invalid port '{text}'.");

    public override string ToString() => Kind switch
    {
        ClusterTargetKind.Embedded => "embedded silo",
        ClusterTargetKind.Redis => $"redis://{Redact(Address!)} (cluster {ClusterId})",
        _ => $"localhost gateway {Address} (cluster {ClusterId})",
    };

    /// <summary>The first endpoint of a Redis configuration string (<c>host:port,password=…</c>; the port 6379 when none is given).</summary>
    public static (string Host, int Port) RedisEndpoint(string redisConfiguration)
    {
        var endpoint = redisConfiguration.Split(',', 2)[0].Trim();
        var colon = endpoint.LastIndexOf(':');
        return colon > 0 && int.TryParse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? (endpoint[..colon].Trim('[', ']'), port)
            : (endpoint.Trim('[', ']'), 6379);
    }

    /// <summary>A Redis configuration string with its <c>password=</c> (and <c>user=</c>) values replaced by <c>***</c>, for messages and logs.</summary>
    public static string Redact(string redisConfiguration) =>
        string.Join(',', redisConfiguration.Split(',').Select(part =>
            part.Trim().StartsWith("password=", StringComparison.OrdinalIgnoreCase) ? "password=***" : part));
}

/// <summary>How a client reaches its cluster.</summary>
public enum ClusterTargetKind
{
    /// <summary>A silo hosted in the client's own process (AgentRl.Client.Embedded).</summary>
    Embedded,

    /// <summary>A cluster whose membership is in Redis.</summary>
    Redis,

    /// <summary>A localhost-clustered silo's gateway.</summary>
    Localhost,
}
