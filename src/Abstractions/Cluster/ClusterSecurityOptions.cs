using System.Security.Cryptography.X509Certificates;

namespace AgentRl.Abstractions.Cluster;

/// <summary>
/// Mutual TLS for a cluster (<c>AgentRl:Security</c>, the same section on silos and clients): every connection — silo to
/// silo, client to gateway — is TLS, and each side presents a certificate the other must trust, either by thumbprint
/// (<see cref="AllowedThumbprints"/>) or because it chains to <see cref="CaCertificatePath"/>. A client without a trusted
/// certificate is refused at the handshake, before any grain call.
/// </summary>
public sealed class ClusterSecurityOptions
{
    public const string SectionName = "AgentRl:Security";

    /// <summary>Turns TLS on. Default false.</summary>
    public bool Tls { get; set; }

    /// <summary>This side's certificate with its private key: a PKCS#12 file (<c>.pfx</c>/<c>.p12</c>), or a PEM certificate with <see cref="CertificateKeyPath"/>.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>
    /// This side's certificate from an operating-system certificate store instead of a file: its SHA-1 thumbprint, found in
    /// <see cref="CertificateStore"/> with its private key. Set either this or <see cref="CertificatePath"/>.
    /// </summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>
    /// The store <see cref="CertificateThumbprint"/> is looked up in, <c>LOCATION/NAME</c>: <c>CurrentUser/My</c> (default;
    /// on Linux .NET keeps it under <c>~/.dotnet/corefx/cryptography/x509stores/my/</c>) or <c>LocalMachine/My</c> (Windows).
    /// </summary>
    public string CertificateStore { get; set; } = "CurrentUser/My";

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/>; null for PKCS#12.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>The PKCS#12 file's password (or the encrypted PEM key's); null when none.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>SHA-1 thumbprints (hex, as <c>openssl x509 -fingerprint -sha1</c> or <see cref="X509Certificate2.Thumbprint"/> print them) of the certificates trusted as peers.</summary>
    public List<string> AllowedThumbprints { get; set; } = [];

    /// <summary>A CA certificate (PEM or DER): a peer whose certificate chains to it is trusted.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>
    /// The CA (PEM or DER) that issued the Redis server's certificate, for a Redis reached with <c>ssl=true</c> whose
    /// certificate is not publicly trusted (a private CA, or self-signed). Used for membership, grain storage and reminders
    /// on silos and for the gateway list on clients; independent of <see cref="Tls"/>.
    /// </summary>
    public string? RedisCaCertificatePath { get; set; }

    /// <summary>Every problem with the settings, naming the key; empty when valid (or TLS is off).</summary>
    public IEnumerable<string> Problems()
    {
        if (RedisCaCertificatePath is { Length: > 0 } redisCa && !File.Exists(redisCa))
        {
            yield return $"{SectionName}:RedisCaCertificatePath: '{redisCa}' does not exist";
        }

        if (!Tls)
        {
            yield break;
        }

        var fromStore = !string.IsNullOrWhiteSpace(CertificateThumbprint);
        if (fromStore && !string.IsNullOrWhiteSpace(CertificatePath))
        {
            yield return $"{SectionName}: set CertificatePath or CertificateThumbprint, not both";
        }
        else if (fromStore)
        {
            if (ParseStore(CertificateStore) is null)
            {
                yield return $"{SectionName}:CertificateStore '{CertificateStore}' is not LOCATION/NAME with LOCATION CurrentUser or LocalMachine (e.g. CurrentUser/My)";
            }
        }
        else if (string.IsNullOrWhiteSpace(CertificatePath))
        {
            yield return $"{SectionName}:CertificatePath (or CertificateThumbprint, for a certificate in a store) is required when {SectionName}:Tls is true";
        }
        else if (!File.Exists(CertificatePath))
        {
            yield return $"{SectionName}:CertificatePath: '{CertificatePath}' does not exist";
        }

        if (CertificateKeyPath is { Length: > 0 } key && !File.Exists(key))
        {
            yield return $"{SectionName}:CertificateKeyPath: '{key}' does not exist";
        }

        if (AllowedThumbprints.Count == 0 && string.IsNullOrWhiteSpace(CaCertificatePath))
        {
            yield return $"{SectionName}: Tls needs AllowedThumbprints or CaCertificatePath; otherwise any certificate would be accepted";
        }

        if (CaCertificatePath is { Length: > 0 } ca && !File.Exists(ca))
        {
            yield return $"{SectionName}:CaCertificatePath: '{ca}' does not exist";
        }
    }

    /// <summary>This side's certificate (with its private key).</summary>
    /// <exception cref="InvalidOperationException">The file cannot be read as a certificate with a private key; the message says which.</exception>
    public X509Certificate2 LoadCertificate()
    {
        if (!string.IsNullOrWhiteSpace(CertificateThumbprint))
        {
            return LoadFromStore(CertificateThumbprint);
        }

        var path = CertificatePath ?? throw new InvalidOperationException($"{SectionName}:CertificatePath is not set.");
        try
        {
            var certificate = CertificateKeyPath is { Length: > 0 } key
                ? (CertificatePassword is { Length: > 0 } password ? X509Certificate2.CreateFromEncryptedPemFile(path, password, key) : X509Certificate2.CreateFromPemFile(path, key))
                : X509CertificateLoader.LoadPkcs12FromFile(path, CertificatePassword);
            return certificate.HasPrivateKey ? certificate : throw new InvalidOperationException($"{SectionName}:CertificatePath '{path}' holds no private key.");
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"{SectionName}:CertificatePath '{path}' could not be read as a certificate with its key: {e.Message}", e);
        }
    }

    /// <summary>The certificate with <paramref name="thumbprint"/> and its private key from <see cref="CertificateStore"/>.</summary>
    private X509Certificate2 LoadFromStore(string thumbprint)
    {
        var (location, name) = ParseStore(CertificateStore) ?? throw new InvalidOperationException($"{SectionName}:CertificateStore '{CertificateStore}' is not LOCATION/NAME (e.g. CurrentUser/My).");
        using var store = new X509Store(name, location);
        try
        {
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"{SectionName}:CertificateStore '{CertificateStore}' cannot be opened: {e.Message}", e);
        }

        var found = store.Certificates.Find(X509FindType.FindByThumbprint, Normalise(thumbprint), validOnly: false);
        var certificate = found.Count > 0 ? found[0] : throw new InvalidOperationException($"{SectionName}:CertificateThumbprint {thumbprint} is not in the {CertificateStore} store.");
        return certificate.HasPrivateKey ? certificate : throw new InvalidOperationException($"{SectionName}:CertificateThumbprint {thumbprint} in {CertificateStore} has no private key.");
    }

    private static (StoreLocation Location, string Name)? ParseStore(string? store) =>
        store?.Split('/', 2) is [var location, var name] && name.Length > 0 && Enum.TryParse<StoreLocation>(location, ignoreCase: false, out var parsed) && Enum.IsDefined(parsed)
            ? (parsed, name)
            : null;

    /// <summary>Whether a peer's certificate is trusted: its thumbprint is allowed, or it chains to the CA.</summary>
    public bool Trusts(X509Certificate2? peer)
    {
        if (peer is null)
        {
            return false;
        }

        if (AllowedThumbprints.Any(t => string.Equals(Normalise(t), peer.Thumbprint, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        if (CaCertificatePath is not { Length: > 0 } caPath)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca(caPath));
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(peer);
    }

    /// <summary>The CA certificate, read once per path rather than at every handshake.</summary>
    private X509Certificate2 Ca(string path)
    {
        if (_ca is not { } cached || cached.Path != path)
        {
            _ca = cached = (path, X509CertificateLoader.LoadCertificateFromFile(path));
        }

        return cached.Certificate;
    }

    private (string Path, X509Certificate2 Certificate)? _ca;

    private static string Normalise(string thumbprint) => thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Trim();
}
