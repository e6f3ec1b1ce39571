using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AgentRl.Abstractions.Cluster;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Security;

/// <summary>
/// Redis over TLS (<c>ssl=true</c> in the connection string) with a certificate from a private CA, named by
/// <c>AgentRl:Security:RedisCaCertificatePath</c>: a real redis-server that accepts only TLS, a silo process whose
/// membership, grain state and reminders go there, and a client that reads the gateways from it. Without the CA the silo
/// stops with the reason (exit 3).
/// </summary>
public sealed class RedisTlsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly string _folder = Directory.CreateTempSubdirectory("agentrl-redis-tls-").FullName;

    [Fact]
    public async Task TlsRedis_WithItsCa_SiloAndClientWork_WithoutIt_TheSiloStopsWithTheReason()
    {
        var (caPath, certPath, keyPath) = WriteCertificates();
        var port = Processes.FreeTcpPort();
        await using var redis = new OwnedProcess("redis-tls", "redis-server",
        [
            "--port", "0", "--tls-port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--tls-cert-file", certPath, "--tls-key-file", keyPath, "--tls-ca-cert-file", caPath, "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no",
        ]);
        await RedisServer.WaitForPortAsync(port, redis);
        var connection = $"127.0.0.1:{port},ssl=true";
        var clusterId = "redis-tls-" + Guid.NewGuid().ToString("N")[..8];

        await using var silo = new OwnedProcess("silo-redis-tls", "dotnet",
        [
            Processes.SiloDll, "--clustering", "redis", "--redis", connection, "--cluster-id", clusterId,
            "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture), "--gateway-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
            "--torch-threads", "1", "--AgentRl:Security:RedisCaCertificatePath", caPath,
        ]);
        await using var client = await AgentRlClient.ConnectAsync(new AgentRlClientOptions
        {
            Cluster = $"redis://{connection}",
            ClusterId = clusterId,
            ConnectRetries = 60,
            Security = new ClusterSecurityOptions { RedisCaCertificatePath = caPath },
        });
        using var timeout = new CancellationTokenSource(Timeout);
        Assert.Contains(await client.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync(timeout.Token), s => s.Status == "Active");
        Assert.Equal("42", (await client.CallToolAsync("calculator-evaluate", """{"expression":"6*7"}""", cancellationToken: timeout.Token)).Text.Trim());

        // The same Redis without its CA: the silo cannot validate the server's certificate and says so.
        var (code, _, stderr) = await Processes.RunAsync("dotnet",
        [
            Processes.SiloDll, "--clustering", "redis", "--redis", connection, "--cluster-id", clusterId,
            "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture), "--gateway-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
        ], Timeout);
        Assert.Equal(3, code);
        Assert.Contains("cannot reach Redis", stderr, StringComparison.Ordinal);
        Assert.False(silo.Process.HasExited, silo.Output);
    }

    /// <summary>A CA, and a server certificate for 127.0.0.1 and localhost that it issued, as PEM files.</summary>
    private (string Ca, string Certificate, string Key) WriteCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=agentrl-redis-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));   // server authentication
        using var server = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [5, 6, 7, 8]);

        var paths = (Path.Combine(_folder, "ca.pem"), Path.Combine(_folder, "redis.crt"), Path.Combine(_folder, "redis.key"));
        File.WriteAllText(paths.Item1, ca.ExportCertificatePem());
        File.WriteAllText(paths.Item2, server.ExportCertificatePem());
        File.WriteAllText(paths.Item3, key.ExportRSAPrivateKeyPem());
        return paths;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
