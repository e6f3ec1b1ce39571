using AgentRl.Abstractions.Cluster;
using Orleans.Connections.Security;

namespace AgentRl.Grains.Hosting;

/// <summary>Mutual TLS on a silo (<see cref="ClusterSecurityOptions"/>): for the connections it accepts (gateway, silo port) and makes.</summary>
public static class AgentRlTls
{
    /// <summary>
    /// When <see cref="ClusterSecurityOptions.Tls"/> is on: TLS with this silo's certificate; every peer, silo or client,
    /// must present a certificate the options trust (<see cref="ClusterSecurityOptions.Trusts"/>), or the handshake fails.
    /// </summary>
    public static ISiloBuilder UseAgentRlTls(this ISiloBuilder builder, ClusterSecurityOptions security)
    {
        ArgumentNullException.ThrowIfNull(security);
        if (!security.Tls)
        {
            return builder;
        }

        var certificate = security.LoadCertificate();
        return builder.UseTls(certificate, o =>
        {
            o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.RemoteCertificateValidation = (peer, _, _) => security.Trusts(peer);
        });
    }
}
