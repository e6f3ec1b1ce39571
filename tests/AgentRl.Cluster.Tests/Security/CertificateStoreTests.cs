using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AgentRl.Abstractions.Cluster;
using AgentRl.Cli.Connection;

namespace AgentRl.Cluster.Tests.Security;

/// <summary>A certificate from the operating system's store (<c>CertificateThumbprint</c>, <c>CertificateStore</c>), on this user's real store.</summary>
public sealed class CertificateStoreTests
{
    [Fact]
    public void LoadCertificate_ByThumbprint_FromTheUsersStore_WithItsKey()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=agentrl-store-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var exportable = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12, "pw"), "pw", X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(exportable);
        try
        {
            var options = new ClusterSecurityOptions { Tls = true, CertificateThumbprint = exportable.Thumbprint.ToLowerInvariant(), AllowedThumbprints = ["AB"] };
            Assert.Empty(options.Problems());
            using var loaded = options.LoadCertificate();
            Assert.Equal(exportable.Thumbprint, loaded.Thumbprint);
            Assert.True(loaded.HasPrivateKey);
        }
        finally
        {
            store.Remove(exportable);
        }

        var missing = new ClusterSecurityOptions { Tls = true, CertificateThumbprint = exportable.Thumbprint, AllowedThumbprints = ["AB"] };
        var error = Assert.Throws<InvalidOperationException>(() => missing.LoadCertificate());
        Assert.Contains($"CertificateThumbprint {exportable.Thumbprint} is not in the CurrentUser/My store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_NameBothSourcesABadStoreAndNeither()
    {
        Assert.Contains(new ClusterSecurityOptions { Tls = true, CertificateThumbprint = "AB", CertificatePath = "/x.pfx", AllowedThumbprints = ["AB"] }.Problems(), p => p.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(new ClusterSecurityOptions { Tls = true, CertificateThumbprint = "AB", CertificateStore = "Somewhere/My", AllowedThumbprints = ["AB"] }.Problems(), p => p.Contains("CertificateStore 'Somewhere/My'", StringComparison.Ordinal));
        Assert.Contains(new ClusterSecurityOptions { Tls = true, AllowedThumbprints = ["AB"] }.Problems(), p => p.Contains("CertificatePath (or CertificateThumbprint", StringComparison.Ordinal));
    }

    [Fact]
    public void Cli_TakesTheStoreCertificateFromTheEnvironment()
    {
        var environment = new Dictionary<string, string> { ["AGENTRL_TLS_CERT_THUMBPRINT"] = "AB12", ["AGENTRL_TLS_CA"] = "/ca.pem" };
        var options = ClientSecurity.FromEnvironment(name => environment.GetValueOrDefault(name));

        Assert.True(options.Tls);
        Assert.Equal("AB12", options.CertificateThumbprint);
        Assert.Equal("CurrentUser/My", options.CertificateStore);
        Assert.Null(options.CertificatePath);
    }
}
