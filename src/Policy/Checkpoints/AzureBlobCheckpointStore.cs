using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace AgentRl.Policy.Checkpoints;

/// <summary>
/// Checkpoints in Azure Blob Storage (or Azurite): the files of a version under <c>&lt;prefix&gt;/&lt;run&gt;/checkpoints/v000123/</c>
/// and, written last, the manifest blob <c>&lt;prefix&gt;/&lt;run&gt;/checkpoints/v000123.manifest.json</c>. Only versions with a
/// manifest are listed or read, so an interrupted upload is never taken for a checkpoint.
/// </summary>
public sealed class AzureBlobCheckpointStore : ICheckpointStore
{
    /// <summary>The newest REST version Azurite 3.35 accepts; the SDK's default (2026-10-06) is refused without --skipApiVersionCheck.</summary>
    public const BlobClientOptions.ServiceVersion PinnedServiceVersion = BlobClientOptions.ServiceVersion.V2025_11_05;

    private const string ManifestSuffix = ".manifest.json";

    private readonly BlobContainerClient _container;
    private readonly string _root;
    private bool _containerReady;

    /// <summary>A store for the blobs under <paramref name="root"/> (e.g. <c>runs/r1/checkpoints</c>) in <paramref name="container"/>.</summary>
    public AzureBlobCheckpointStore(BlobContainerClient container, string root)
    {
        _container = container;
        _root = root.Trim('/');
        var account = new UriBuilder(container.Uri) { Query = "" }.Uri;
        Description = $"azure-blob checkpoint store {account} (container '{container.Name}', prefix '{_root}/')";
    }

    /// <summary>A run's store from validated options: <c>&lt;Prefix&gt;/&lt;run&gt;/checkpoints</c> in <c>Container</c>.</summary>
    public static AzureBlobCheckpointStore ForRun(CheckpointStoreOptions options, string runId)
    {
        var prefix = options.Prefix.Trim('/');
        var root = (prefix.Length == 0 ? "" : prefix + "/") + CheckpointStoreFactory.CheckRunId(runId) + "/checkpoints";
        return new AzureBlobCheckpointStore(ContainerClient(options), root);
    }

    /// <summary>The container of validated Azure options, with their retries and timeout and the pinned service version.</summary>
    public static BlobContainerClient ContainerClient(CheckpointStoreOptions options)
    {
        var clientOptions = new BlobClientOptions(PinnedServiceVersion);
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        var service = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new BlobServiceClient(new Uri(options.ServiceUri!), clientOptions)
            : new BlobServiceClient(options.ConnectionString, clientOptions);
        return service.GetBlobContainerClient(options.Container);
    }

    public string Description { get; }

    public string GetLocation(long version) =>
        new UriBuilder(_container.Uri) { Query = "" }.Uri.ToString().TrimEnd('/') + "/" + VersionPrefix(version);

    public Task<CheckpointManifest> PublishAsync(long version, string sourceDirectory, CancellationToken cancellationToken = default) =>
        GuardAsync($"publish version {version} to {GetLocation(version)}", async () =>
        {
            var manifestBlob = _container.GetBlobClient(ManifestName(version));
            await EnsureContainerAsync(cancellationToken);
            if (await manifestBlob.ExistsAsync(cancellationToken))
            {
                throw new InvalidOperationException($"{Description}: version {version} already exists; versions are immutable");
            }

            var manifest = await CheckpointManifest.DescribeAsync(version, sourceDirectory, cancellationToken);
            foreach (var file in manifest.Files)
            {
                // Overwrite: blobs left by an interrupted attempt at this version are not part of any complete version.
                var upload = new BlobUploadOptions
                {
                    TransferOptions = new Azure.Storage.StorageTransferOptions { MaximumConcurrency = 4, MaximumTransferSize = 8 << 20, InitialTransferSize = 8 << 20 },
                };
                await _container.GetBlobClient(VersionPrefix(version) + "/" + file.Name)
                    .UploadAsync(CheckpointManifest.LocalPath(sourceDirectory, file.Name), upload, cancellationToken);
            }

            try
            {
                await manifestBlob.UploadAsync(
                    new BinaryData(manifest.ToJson()),
                    new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                    cancellationToken);
            }
            catch (RequestFailedException error) when (error.Status == 409)
            {
                throw new InvalidOperationException($"{Description}: version {version} was published concurrently", error);
            }

            return manifest;
        }, cancellationToken);

    public Task<IReadOnlyList<long>> ListVersionsAsync(CancellationToken cancellationToken = default) =>
        GuardAsync("list versions", async () =>
        {
            var versions = new List<long>();
            await foreach (var item in _container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, delimiter: "/", prefix: _root + "/", cancellationToken: cancellationToken))
            {
                if (item.IsBlob && item.Blob.Name.EndsWith(ManifestSuffix, StringComparison.Ordinal)
                    && CheckpointManifest.TryParseVersionName(item.Blob.Name[(_root.Length + 1)..^ManifestSuffix.Length], out var version))
                {
                    versions.Add(version);
                }
            }

            versions.Sort();
            return (IReadOnlyList<long>)versions;
        }, cancellationToken, missingContainerIsEmpty: true);

    public async Task<long?> GetLatestVersionAsync(CancellationToken cancellationToken = default)
    {
        var versions = await ListVersionsAsync(cancellationToken);
        return versions.Count == 0 ? null : versions[^1];
    }

    public Task<CheckpointManifest> GetManifestAsync(long version, CancellationToken cancellationToken = default) =>
        GuardAsync($"read the manifest of version {version}", async () =>
        {
            try
            {
                var content = await _container.GetBlobClient(ManifestName(version)).DownloadContentAsync(cancellationToken);
                return CheckpointManifest.FromJson(content.Value.Content.ToMemory().Span);
            }
            catch (RequestFailedException error) when (error.Status == 404)
            {
                throw new CheckpointNotFoundException($"{Description}: version {version} is not a complete checkpoint (no manifest {ManifestName(version)})");
            }
        }, cancellationToken);

    public Task<CheckpointManifest> DownloadAsync(long version, string targetDirectory, CancellationToken cancellationToken = default) =>
        GuardAsync($"download version {version} from {GetLocation(version)} to {targetDirectory}", async () =>
        {
            var manifest = await GetManifestAsync(version, cancellationToken);
            foreach (var file in manifest.Files)
            {
                var destination = CheckpointManifest.LocalPath(targetDirectory, file.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                await _container.GetBlobClient(VersionPrefix(version) + "/" + file.Name).DownloadToAsync(destination, cancellationToken);
                await CheckpointManifest.VerifyAsync(file, destination, Description, cancellationToken);
            }

            return manifest;
        }, cancellationToken);

    public Task<Stream> OpenReadAsync(long version, string fileName, CancellationToken cancellationToken = default) =>
        GuardAsync($"open {fileName} of version {version}", async () =>
        {
            var manifest = await GetManifestAsync(version, cancellationToken);
            if (!manifest.Files.Any(f => f.Name == fileName))
            {
                throw new CheckpointNotFoundException($"{Description}: version {version} has no file {fileName}");
            }

            return await _container.GetBlobClient(VersionPrefix(version) + "/" + fileName)
                .OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken);
        }, cancellationToken);

    public async Task<IReadOnlyList<long>> DeleteOldVersionsAsync(int keepNewest, IReadOnlyCollection<long> alsoKeep, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepNewest);
        ArgumentNullException.ThrowIfNull(alsoKeep);
        var doomed = CheckpointRetention.VersionsToDelete(await ListVersionsAsync(cancellationToken), keepNewest, alsoKeep);
        foreach (var version in doomed)
        {
            await GuardAsync($"delete version {version}", async () =>
            {
                // The manifest goes first: the version disappears at once even if deleting its files fails half-way.
                await _container.GetBlobClient(ManifestName(version)).DeleteIfExistsAsync(cancellationToken: cancellationToken);
                await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: VersionPrefix(version) + "/", cancellationToken: cancellationToken))
                {
                    await _container.GetBlobClient(blob.Name).DeleteIfExistsAsync(cancellationToken: cancellationToken);
                }

                return true;
            }, cancellationToken);
        }

        return doomed;
    }

    private string VersionPrefix(long version) => _root + "/" + CheckpointManifest.VersionName(version);

    private string ManifestName(long version) => VersionPrefix(version) + ManifestSuffix;

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerReady)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerReady = true;
        }
    }

    private Task<T> GuardAsync<T>(string operation, Func<Task<T>> body, CancellationToken cancellationToken, bool missingContainerIsEmpty = false) =>
        BlobStoreGuard.RunAsync(Description, operation, async () =>
        {
            try
            {
                return await body();
            }
            catch (RequestFailedException error) when (missingContainerIsEmpty && error.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                return (T)(object)Array.Empty<long>();
            }
        }, cancellationToken);
}
