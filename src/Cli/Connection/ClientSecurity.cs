using System.Net;
using AgentRl.Abstractions.Cluster;
using AgentRl.Client;

namespace AgentRl.Cli.Connection;

/// <summary>
/// The CLI's TLS settings (<see cref="ClusterSecurityOptions"/>) from the environment: <c>AGENTRL_TLS_CERT</c> (PKCS#12, or
/// PEM with <c>AGENTRL_TLS_KEY</c>), <c>AGENTRL_TLS_PASSWORD</c>, <c>AGENTRL_TLS_THUMBPRINTS</c> (comma-separated) and
/// <c>AGENTRL_TLS_CA</c>; or a certificate in an operating-system store, <c>AGENTRL_TLS_CERT_THUMBPRINT</c> (in
/// <c>AGENTRL_TLS_CERT_STORE</c>, default <c>CurrentUser/My</c>). TLS is on when either certificate variable is set.
/// <c>AGENTRL_REDIS_CA</c>: the CA of a Redis reached with <c>ssl=true</c>.
/// </summary>
public static class ClientSecurity
{
    public static ClusterSecurityOptions FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var certificate = environment("AGENTRL_TLS_CERT");
        var thumbprint = environment("AGENTRL_TLS_CERT_THUMBPRINT");
        return new ClusterSecurityOptions
        {
            Tls = !string.IsNullOrWhiteSpace(certificate) || !string.IsNullOrWhiteSpace(thumbprint),
            CertificatePath = certificate,
            CertificateThumbprint = thumbprint,
            CertificateStore = environment("AGENTRL_TLS_CERT_STORE") is { Length: > 0 } store ? store : "CurrentUser/My",
            CertificateKeyPath = environment("AGENTRL_TLS_KEY"),
            CertificatePassword = environment("AGENTRL_TLS_PASSWORD"),
            AllowedThumbprints = [.. (environment("AGENTRL_TLS_THUMBPRINTS") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)],
            CaCertificatePath = environment("AGENTRL_TLS_CA"),
            RedisCaCertificatePath = environment("AGENTRL_REDIS_CA"),
        };
    }

    /// <summary>
    /// The warning to print when a cluster is reached without TLS over the network: a Redis membership on a host that is
    /// not loopback (a <c>localhost</c> gateway is loopback by construction); null when there is nothing to warn about.
    /// </summary>
    public static string? PlainTextWarning(ClusterTarget target, ClusterSecurityOptions security)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(security);
        if (security.Tls || target.Kind != ClusterTargetKind.Redis)
        {
            return null;
        }

        var (host, _) = ClusterTarget.RedisEndpoint(target.Address!);
        var loopback = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
        return loopback ? null : $"agentrl: warning: connecting to {host} without TLS; anyone who can reach a silo's gateway can start runs and run code through python-run. Set AGENTRL_TLS_CERT (see the README's \"Securing a cluster\").";
    }
}
