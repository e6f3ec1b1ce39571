using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AgentRl.Abstractions.Cluster;
using AgentRl.Cli.Connection;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Security;

/// <summary>
/// Mutual TLS (<c>AgentRl:Security</c>) over real processes: two silo processes on a password-protected Redis membership
/// and a client that trusts them work; a client without a certificate, or with one the silos do not trust, is refused with an error
/// that says so. Certificates are made here (self-signed, and a small CA) and written to a temporary folder.
/// </summary>
public sealed class ClusterTlsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string _folder = Directory.CreateTempSubdirectory("agentrl-tls-").FullName;

    [Fact]
    public async Task TlsCluster_TrustedClientWorks_ClientWithoutOrWithAnUntrustedCertificateIsRefused()
    {
        var (silo, siloPath) = Write("silo");
        var (client, clientPath) = Write("client");
        var (_, roguePath) = Write("rogue");
        string[] siloArgs =
        [
            "--AgentRl:Security:Tls", "true",
            "--AgentRl:Security:CertificatePath", siloPath,
            "--AgentRl:Security:CertificatePassword", "pw",
            "--AgentRl:Security:AllowedThumbprints:0", silo.Thumbprint,
            "--AgentRl:Security:AllowedThumbprints:1", client.Thumbprint,
        ];
        // Membership and grain storage in a Redis that requires a password, given in the connection string.
        await using var redis = await RedisServer.StartAsync(password: "membership-secret");
        var clusterId = "tls-" + Guid.NewGuid().ToString("N")[..8];
        await using var first = Processes.StartSilo(redis, clusterId, "rollout,tools,trainer", "cpu", extraArgs: siloArgs);
        await using var second = Processes.StartSilo(redis, clusterId, "rollout,tools", "cpu", extraArgs: siloArgs);
        // The trusted client takes its certificate from the user's certificate store, by thumbprint (the silos from files).
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        using var stored = X509CertificateLoader.LoadPkcs12FromFile(clientPath, "pw", X509KeyStorageFlags.Exportable);
        store.Add(stored);
        using var removeFromStore = new Disposer(() => store.Remove(stored));
        var trusted = new ClusterSecurityOptions { Tls = true, CertificateThumbprint = client.Thumbprint, AllowedThumbprints = [silo.Thumbprint] };

        await using (var connected = await ConnectWhenBothSilosAreUpAsync(redis, clusterId, trusted, first, second))
        {
            using var timeout = new CancellationTokenSource(Timeout);
            var observation = await connected.CallToolAsync("calculator-evaluate", """{"expression":"6*7"}""", cancellationToken: timeout.Token);
            Assert.Equal("42", observation.Text.Trim());
        }

        var plain = await Assert.ThrowsAsync<ClusterConnectionException>(() => AgentRlClient.ConnectAsync(Options(redis, clusterId, new ClusterSecurityOptions())));
        Assert.Contains("AgentRl:Security:Tls", plain.Message, StringComparison.Ordinal);
        var rogue = new ClusterSecurityOptions { Tls = true, CertificatePath = roguePath, CertificatePassword = "pw", AllowedThumbprints = [silo.Thumbprint] };
        var untrusted = await Assert.ThrowsAsync<ClusterConnectionException>(() => AgentRlClient.ConnectAsync(Options(redis, clusterId, rogue)));
        Assert.Contains("certificate trusted", untrusted.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("membership-secret", untrusted.Message + plain.Message, StringComparison.Ordinal);   // the Redis password is redacted

        var noPassword = await Assert.ThrowsAsync<ClusterConnectionException>(() => AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = $"redis://127.0.0.1:{redis.Port}", ClusterId = clusterId, Security = trusted, ConnectRetries = 1 }));
        Assert.Contains($"127.0.0.1:{redis.Port}", noPassword.Message, StringComparison.Ordinal);

        // The silos stayed up and a trusted client still works after the refused ones.
        Assert.False(first.Process.HasExited, first.Output);
        await using var again = await AgentRlClient.ConnectAsync(Options(redis, clusterId, trusted));
        Assert.Equal(2, (await again.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync()).Count(s => s.Status == "Active"));
    }

    [Fact]
    public void Trusts_ByThumbprintOrByCa_AndNothingElse()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=agentrl-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        var caPath = Path.Combine(_folder, "ca.pem");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        using var leafKey = RSA.Create(2048);
        using var issued = Request("issued", leafKey).Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
        var (stranger, _) = Write("stranger");

        var byCa = new ClusterSecurityOptions { Tls = true, CaCertificatePath = caPath };
        Assert.True(byCa.Trusts(issued));
        Assert.False(byCa.Trusts(stranger));
        Assert.False(byCa.Trusts(null));
        var byThumbprint = new ClusterSecurityOptions { Tls = true, AllowedThumbprints = [string.Join(':', stranger.Thumbprint.Chunk(2).Select(c => new string(c))).ToLowerInvariant()] };
        Assert.True(byThumbprint.Trusts(stranger));
        Assert.False(byThumbprint.Trusts(issued));
    }

    [Fact]
    public void Problems_NameTheKey_AndTlsWithoutATrustListIsRefused()
    {
        Assert.Empty(new ClusterSecurityOptions().Problems());
        var problems = new ClusterSecurityOptions { Tls = true, CertificatePath = Path.Combine(_folder, "missing.pfx") }.Problems().ToList();
        Assert.Contains(problems, p => p.Contains("AgentRl:Security:CertificatePath", StringComparison.Ordinal) && p.Contains("does not exist", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("any certificate would be accepted", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.0.0.5:6379", true)]
    [InlineData("redis.internal:6379", true)]
    [InlineData("127.0.0.1:6379", false)]
    [InlineData("localhost:6379", false)]
    [InlineData("[::1]:6379", false)]
    public void Cli_WarnsWhenAClusterOffLoopbackIsReachedWithoutTls(string redis, bool warns)
    {
        var target = ClusterTarget.Parse("redis://" + redis, "agentrl", "agentrl");
        Assert.Equal(warns, ClientSecurity.PlainTextWarning(target, new ClusterSecurityOptions()) is not null);
        Assert.Null(ClientSecurity.PlainTextWarning(target, new ClusterSecurityOptions { Tls = true }));
        Assert.Null(ClientSecurity.PlainTextWarning(ClusterTarget.Parse("localhost:30000", "agentrl", "agentrl"), new ClusterSecurityOptions()));
    }

    [Fact]
    public void Cli_ReadsItsCertificateAndTrustFromTheEnvironment()
    {
        var variables = new Dictionary<string, string>
        {
            ["AGENTRL_TLS_CERT"] = "client.pem",
            ["AGENTRL_TLS_KEY"] = "client.key",
            ["AGENTRL_TLS_THUMBPRINTS"] = "AB12, CD34",
            ["AGENTRL_TLS_CA"] = "ca.pem",
        };
        var security = ClientSecurity.FromEnvironment(name => variables.GetValueOrDefault(name));

        Assert.True(security.Tls);
        Assert.Equal(("client.pem", "client.key", "ca.pem"), (security.CertificatePath, security.CertificateKeyPath, security.CaCertificatePath));
        Assert.Equal(["AB12", "CD34"], security.AllowedThumbprints);
        Assert.False(ClientSecurity.FromEnvironment(_ => null).Tls);
    }

    private static AgentRlClientOptions Options(RedisServer redis, string clusterId, ClusterSecurityOptions security) =>
        new() { Cluster = $"redis://{redis.Address}", ClusterId = clusterId, Security = security, ConnectRetries = 1 };

    private static async Task<AgentRlClient> ConnectWhenBothSilosAreUpAsync(RedisServer redis, string clusterId, ClusterSecurityOptions security, OwnedProcess first, OwnedProcess second)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            Assert.False(first.Process.HasExited, first.Output);
            Assert.False(second.Process.HasExited, second.Output);
            try
            {
                var client = await AgentRlClient.ConnectAsync(Options(redis, clusterId, security));
                var silos = await client.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync();
                if (silos.Count(s => s.Status == "Active") == 2)
                {
                    return client;
                }

                await client.DisposeAsync();
            }
            catch (ClusterConnectionException) when (DateTime.UtcNow < deadline)
            {
                // No gateway yet.
            }

            Assert.True(DateTime.UtcNow < deadline, $"the two TLS silos did not both become active\n{first.Output}\n{second.Output}");
            await Task.Delay(500);
        }
    }

    private static CertificateRequest Request(string name, RSA key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        return request;
    }

    /// <summary>A self-signed certificate for server and client authentication, written as a PKCS#12 file (password "pw").</summary>
    private (X509Certificate2 Certificate, string Path) Write(string name)
    {
        using var key = RSA.Create(2048);
        var certificate = Request(name, key).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_folder, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, "pw"));
        return (certificate, path);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

internal sealed class Disposer(Action dispose) : IDisposable
{
    public void Dispose() => dispose();
}
