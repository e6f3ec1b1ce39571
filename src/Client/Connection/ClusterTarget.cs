namespace AgentRl.Client.Connection;

/// <summary>Where the client's commands run: an embedded silo in this process, or a cluster reached through Redis or a gateway.</summary>
public sealed record ClusterTarget(ClusterTargetKind Kind, string? Address, string ClusterId, string ServiceId)
{
    /// <summary>
    /// Parses <c>--cluster</c>: empty or <c>embedded</c> (default: host a silo in this process), <c>redis://host:port</c>,
    /// or <c>localhost[:gatewayPort]</c> (a localhost-clustered silo, gateway 30000 by default).
    /// </summary>
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
        ClusterTargetKind.Redis => $"redis://{Address} (cluster {ClusterId})",
        _ => $"localhost gateway {Address} (cluster {ClusterId})",
    };
}

public enum ClusterTargetKind
{
    Embedded,
    Redis,
    Localhost,
}
