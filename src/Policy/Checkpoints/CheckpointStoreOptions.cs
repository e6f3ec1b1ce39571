using System.Text.RegularExpressions;

namespace AgentRl.Policy.Checkpoints;

/// <summary>Where checkpoints live. Section <c>AgentRl:Checkpoints</c>.</summary>
public sealed partial class CheckpointStoreOptions
{
    public const string SectionName = "AgentRl:Checkpoints";

    public const string LocalKind = "local";

    public const string AzureBlobKind = "azure-blob";

    /// <summary><c>local</c> (default: a folder) or <c>azure-blob</c> (Azure Blob Storage or Azurite).</summary>
    public string Kind { get; set; } = LocalKind;

    /// <summary>Local store: the folder holding <c>&lt;run&gt;/checkpoints/v000123/</c>. Default <c>runs</c> (relative to the working directory).</summary>
    public string Root { get; set; } = "runs";

    /// <summary>Azure store: a storage connection string (e.g. <c>UseDevelopmentStorage=true</c> for Azurite). Set this or <see cref="ServiceUri"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Azure store: the blob service URI with a SAS token (e.g. <c>https://acct.blob.core.windows.net/?sv=…</c>). Set this or <see cref="ConnectionString"/>.</summary>
    public string? ServiceUri { get; set; }

    /// <summary>Azure store: the container, created when missing. Default <c>agentrl</c>.</summary>
    public string Container { get; set; } = "agentrl";

    /// <summary>Azure store: blob name prefix; a run's checkpoints live under <c>&lt;prefix&gt;/&lt;run&gt;/checkpoints/</c>. Default <c>runs</c>.</summary>
    public string Prefix { get; set; } = "runs";

    /// <summary>Azure store: retries of a failed request before the store reports an outage. Default 3.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Azure store: the time one request (one block of at most 8 MB of a large transfer) may take. Default 30 s; a
    /// storage that accepts connections but never answers fails after (MaxRetries + 1) × NetworkTimeout.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Returns every problem with these options, or none.</summary>
    public IEnumerable<string> Validate()
    {
        switch (Kind)
        {
            case LocalKind:
                if (string.IsNullOrWhiteSpace(Root))
                {
                    yield return $"{SectionName}:Root must name a folder for the local checkpoint store.";
                }

                break;
            case AzureBlobKind:
                var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
                var hasServiceUri = !string.IsNullOrWhiteSpace(ServiceUri);
                if (hasConnectionString == hasServiceUri)
                {
                    yield return $"{SectionName}: the azure-blob store needs exactly one of ConnectionString or ServiceUri.";
                }

                if (hasServiceUri && (!Uri.TryCreate(ServiceUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
                {
                    yield return $"{SectionName}:ServiceUri must be an absolute http(s) URI (got '{ServiceUri}').";
                }

                if (!ContainerName().IsMatch(Container ?? "") || Container!.Contains("--", StringComparison.Ordinal))
                {
                    yield return $"{SectionName}:Container must be 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit (got '{Container}').";
                }

                if (Prefix is null || Prefix.StartsWith('/') || Prefix.Contains('\\') || Prefix.Split('/').Any(p => p is ".."))
                {
                    yield return $"{SectionName}:Prefix must be a relative blob path without '..' or '\\' (got '{Prefix}').";
                }

                if (MaxRetries is < 0 or > 10)
                {
                    yield return $"{SectionName}:MaxRetries must be between 0 and 10 (got {MaxRetries}).";
                }

                if (NetworkTimeout <= TimeSpan.Zero)
                {
                    yield return $"{SectionName}:NetworkTimeout must be positive (got {NetworkTimeout}).";
                }

                break;
            default:
                yield return $"{SectionName}:Kind must be '{LocalKind}' or '{AzureBlobKind}' (got '{Kind}').";
                break;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
