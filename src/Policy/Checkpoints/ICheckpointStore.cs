namespace AgentRl.Policy.Checkpoints;

/// <summary>
/// Versioned checkpoint directories of one run (config.json, model.safetensors, optimizer state, run state…).
/// A version is immutable and becomes visible only once all its files are stored: readers never see a partial version.
/// Grains pass the version number (and <see cref="GetLocation"/> for humans), never the bytes.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>Where this store keeps the run's checkpoints, e.g. <c>local folder /srv/runs/r1/checkpoints</c>.</summary>
    string Description { get; }

    /// <summary>The location of one version: a folder path or a blob URI prefix.</summary>
    string GetLocation(long version);

    /// <summary>
    /// Stores every file under <paramref name="sourceDirectory"/> (sub-folders included) as <paramref name="version"/>,
    /// then makes the version visible. Throws <see cref="InvalidOperationException"/> when the version exists and
    /// <see cref="CheckpointStoreException"/> when the storage fails.
    /// </summary>
    Task<CheckpointManifest> PublishAsync(long version, string sourceDirectory, CancellationToken cancellationToken = default);

    /// <summary>The complete versions, ascending.</summary>
    Task<IReadOnlyList<long>> ListVersionsAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest complete version, or null when there is none.</summary>
    Task<long?> GetLatestVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>The manifest of a complete version; throws <see cref="CheckpointNotFoundException"/> when it is not complete.</summary>
    Task<CheckpointManifest> GetManifestAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>Copies every file of <paramref name="version"/> into <paramref name="targetDirectory"/>, checking sizes and SHA-256.</summary>
    Task<CheckpointManifest> DownloadAsync(long version, string targetDirectory, CancellationToken cancellationToken = default);

    /// <summary>Opens one file of a complete version for reading (a stream; large files are not buffered).</summary>
    Task<Stream> OpenReadAsync(long version, string fileName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every version but the newest <paramref name="keepNewest"/> and those in <paramref name="alsoKeep"/>
    /// (<see cref="CheckpointRetention.VersionsToDelete"/>); returns the versions deleted, oldest first.
    /// </summary>
    Task<IReadOnlyList<long>> DeleteOldVersionsAsync(int keepNewest, IReadOnlyCollection<long> alsoKeep, CancellationToken cancellationToken = default);
}
