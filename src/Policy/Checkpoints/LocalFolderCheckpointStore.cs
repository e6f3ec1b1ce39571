namespace AgentRl.Policy.Checkpoints;

/// <summary>
/// Checkpoints in a folder: <c>&lt;root&gt;/&lt;run&gt;/checkpoints/v000123/</c>. A version is written to a hidden temporary
/// folder beside it and renamed into place once complete (with its manifest), so readers never see a partial version.
/// </summary>
public sealed class LocalFolderCheckpointStore : ICheckpointStore
{
    private const string TempPrefix = ".tmp-";

    /// <summary>A store for the folder that holds the version folders, e.g. <c>runs/r1/checkpoints</c>.</summary>
    public LocalFolderCheckpointStore(string checkpointsFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointsFolder);
        Folder = Path.GetFullPath(checkpointsFolder);
    }

    /// <summary>A run's store below <paramref name="root"/>: <c>&lt;root&gt;/&lt;run&gt;/checkpoints</c>.</summary>
    public static LocalFolderCheckpointStore ForRun(string root, string runId) =>
        new(Path.Combine(root, CheckpointStoreFactory.CheckRunId(runId), "checkpoints"));

    /// <summary>The absolute folder holding the version folders.</summary>
    public string Folder { get; }

    public string Description => $"local checkpoint folder {Folder}";

    public string GetLocation(long version) => Path.Combine(Folder, CheckpointManifest.VersionName(version));

    public async Task<CheckpointManifest> PublishAsync(long version, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        var target = GetLocation(version);
        if (Directory.Exists(target))
        {
            throw new InvalidOperationException($"{Description}: version {version} already exists at {target}; versions are immutable");
        }

        var manifest = await CheckpointManifest.DescribeAsync(version, sourceDirectory, cancellationToken);
        var temp = Path.Combine(Folder, TempPrefix + CheckpointManifest.VersionName(version) + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(temp);
            foreach (var file in manifest.Files)
            {
                var destination = CheckpointManifest.LocalPath(temp, file.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                await CopyAsync(CheckpointManifest.LocalPath(sourceDirectory, file.Name), destination, cancellationToken);
                await CheckpointManifest.VerifyAsync(file, destination, Description, cancellationToken);
            }

            await File.WriteAllBytesAsync(Path.Combine(temp, CheckpointManifest.FileName), manifest.ToJson(), cancellationToken);
            Directory.Move(temp, target);
            return manifest;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException && error is not CheckpointStoreException)
        {
            TryDelete(temp);
            if (Directory.Exists(target))
            {
                throw new InvalidOperationException($"{Description}: version {version} was published concurrently at {target}", error);
            }

            throw new CheckpointStoreException($"{Description}: could not publish version {version} to {target}: {error.Message}", error);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public Task<IReadOnlyList<long>> ListVersionsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            if (!Directory.Exists(Folder))
            {
                return Task.FromResult<IReadOnlyList<long>>([]);
            }

            IReadOnlyList<long> versions = Directory.EnumerateDirectories(Folder)
                .Select(d => (Dir: d, Ok: CheckpointManifest.TryParseVersionName(Path.GetFileName(d), out var v), Version: v))
                .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, CheckpointManifest.FileName)))
                .Select(x => x.Version)
                .Order()
                .ToList();
            return Task.FromResult(versions);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointStoreException($"{Description}: could not list versions: {error.Message}", error);
        }
    }

    public async Task<long?> GetLatestVersionAsync(CancellationToken cancellationToken = default)
    {
        var versions = await ListVersionsAsync(cancellationToken);
        return versions.Count == 0 ? null : versions[^1];
    }

    public async Task<CheckpointManifest> GetManifestAsync(long version, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(GetLocation(version), CheckpointManifest.FileName);
        try
        {
            return CheckpointManifest.FromJson(await File.ReadAllBytesAsync(path, cancellationToken));
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointNotFoundException($"{Description}: version {version} is not a complete checkpoint ({path} is missing)");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException && error is not CheckpointStoreException)
        {
            throw new CheckpointStoreException($"{Description}: could not read the manifest of version {version} at {path}: {error.Message}", error);
        }
    }

    public async Task<CheckpointManifest> DownloadAsync(long version, string targetDirectory, CancellationToken cancellationToken = default)
    {
        var manifest = await GetManifestAsync(version, cancellationToken);
        var source = GetLocation(version);
        try
        {
            foreach (var file in manifest.Files)
            {
                var destination = CheckpointManifest.LocalPath(targetDirectory, file.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                await CopyAsync(CheckpointManifest.LocalPath(source, file.Name), destination, cancellationToken);
                await CheckpointManifest.VerifyAsync(file, destination, Description, cancellationToken);
            }

            return manifest;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException && error is not CheckpointStoreException and not InvalidDataException)
        {
            throw new CheckpointStoreException($"{Description}: could not copy version {version} from {source} to {targetDirectory}: {error.Message}", error);
        }
    }

    public async Task<Stream> OpenReadAsync(long version, string fileName, CancellationToken cancellationToken = default)
    {
        var manifest = await GetManifestAsync(version, cancellationToken);
        if (!manifest.Files.Any(f => f.Name == fileName))
        {
            throw new CheckpointNotFoundException($"{Description}: version {version} has no file {fileName}");
        }

        var path = CheckpointManifest.LocalPath(GetLocation(version), fileName);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointStoreException($"{Description}: could not open {path}: {error.Message}", error);
        }
    }

    public async Task<IReadOnlyList<long>> DeleteOldVersionsAsync(int keepNewest, IReadOnlyCollection<long> alsoKeep, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepNewest);
        ArgumentNullException.ThrowIfNull(alsoKeep);
        var doomed = CheckpointRetention.VersionsToDelete(await ListVersionsAsync(cancellationToken), keepNewest, alsoKeep);
        foreach (var version in doomed)
        {
            var folder = GetLocation(version);
            try
            {
                // Removing the manifest first makes the version invisible even if deleting the rest fails half-way.
                File.Delete(Path.Combine(folder, CheckpointManifest.FileName));
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStoreException($"{Description}: could not delete version {version} at {folder}: {error.Message}", error);
            }
        }

        return doomed;
    }

    private static async Task CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using var output = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        await input.CopyToAsync(output, 1 << 20, cancellationToken);
        await output.FlushAsync(cancellationToken);
        output.Flush(flushToDisk: true);
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover .tmp- folder is never listed as a version.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
