using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Training;
using AgentRl.Policy.Checkpoints;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace AgentRl.Grains.Storage;

/// <summary>
/// A run kept in Azure Blob Storage (or Azurite) so that no silo needs another's disk (<see cref="RunConfig.RunStore"/>).
/// The local run folder is a cache of it:
/// <list type="bullet">
/// <item><c>{prefix}/{run}/files/…</c>: the run's files (<c>run_state.json</c>, <c>config.json</c>, <c>metrics.csv</c>,
/// <c>timings.csv</c>, trajectories, TensorBoard events, plots), pushed after every step, <c>run_state.json</c> last and
/// fenced by its epoch, so the store's <c>run_state.json</c> always names a step whose metrics row and trainer state are
/// there;</item>
/// <item><c>{prefix}/{run}/trainer/s000005/…</c>: the trainer state of a step, pushed by the trainer grain where it runs,
/// complete once its marker <c>s000005.complete</c> exists; states older than the store's <c>run_state.json</c> are pruned.</item>
/// </list>
/// A file is pushed when it is newer than its blob and pulled when its blob is newer than it (a pulled file takes the
/// blob's time), so the silo that writes a run never has its newer files replaced, and a silo with an empty or stale
/// disk catches up.
/// </summary>
public sealed class BlobRunStore
{
    private const string FilesFolder = "files/";
    private const string TrainerFolder = "trainer/";
    private const string CompleteSuffix = ".complete";

    /// <summary>Folders of the run directory that are not run files: caches, the local checkpoint store, trainer states (kept under <c>trainer/</c> in the store).</summary>
    private static readonly string[] LocalOnly = [RunStateFile.TrainerDirectoryName, RunStateFile.NextTrainerDirectoryName, RestoreFolder, "checkpoints", "eval-cache"];

    /// <summary>The folder of the run directory a trainer state is pulled into before it is loaded.</summary>
    public const string RestoreFolder = "trainer-restore";

    private readonly BlobContainerClient _container;
    private readonly string _root;
    private bool _containerReady;

    public BlobRunStore(BlobContainerClient container, string runRoot)
    {
        _container = container;
        _root = runRoot.Trim('/') + "/";
        Description = $"azure-blob run store {new UriBuilder(container.Uri) { Query = "" }.Uri}{_root}";
    }

    /// <summary>The store of <paramref name="spec"/> (an <c>azure-blob</c> spec; the connection from the run or the silo's <c>AgentRl:Checkpoints</c>).</summary>
    public static BlobRunStore Create(CheckpointStoreSpec spec, CheckpointStoreOptions siloDefaults)
    {
        var options = RunCheckpointStores.Options(spec, "", siloDefaults);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid run store: " + string.Join("; ", problems));
        }

        return new BlobRunStore(AzureBlobCheckpointStore.ContainerClient(options), RunRoot(options.Prefix, spec.RunId));
    }

    /// <summary>The runs under a prefix: the folders of <c>{prefix}/</c> whose <c>files/run_state.json</c> exists.</summary>
    public static Task<IReadOnlyList<string>> ListRunsAsync(BlobContainerClient container, string prefix, CancellationToken cancellationToken = default) =>
        BlobStoreGuard.RunAsync($"azure-blob run store {container.Uri}", $"list the runs under '{prefix.Trim('/')}/'", async () =>
        {
            var root = prefix.Trim('/').Length == 0 ? "" : prefix.Trim('/') + "/";
            var runs = new List<string>();
            if (!await container.ExistsAsync(cancellationToken))
            {
                return (IReadOnlyList<string>)runs;
            }

            await foreach (var item in container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", root, cancellationToken))
            {
                if (item.IsPrefix && item.Prefix.TrimEnd('/')[root.Length..] is var run && RunFiles.IsRunId(run)
                    && await container.GetBlobClient(item.Prefix + FilesFolder + RunStateFile.FileName).ExistsAsync(cancellationToken))
                {
                    runs.Add(run);
                }
            }

            return (IReadOnlyList<string>)runs;
        }, cancellationToken);

    private static string RunRoot(string prefix, string runId)
    {
        prefix = prefix.Trim('/');
        return (prefix.Length == 0 ? "" : prefix + "/") + CheckpointStoreFactory.CheckRunId(runId);
    }

    public string Description { get; }

    /// <summary>
    /// Pushes every run file of <paramref name="runDirectory"/> newer than its blob, <c>run_state.json</c> last and only
    /// while the store's copy has an epoch no newer than the local one; then prunes the trainer states before its step.
    /// </summary>
    /// <exception cref="RunSupersededException">The store's run_state.json was written by a newer activation.</exception>
    public Task PushAsync(string runDirectory, CancellationToken cancellationToken = default) =>
        BlobStoreGuard.RunAsync(Description, $"push {runDirectory}", async () =>
        {
            await EnsureContainerAsync(cancellationToken);
            var blobs = await ListAsync(_root + FilesFolder, cancellationToken);
            foreach (var (relative, path) in LocalFiles(runDirectory))
            {
                if (relative != RunStateFile.FileName && IsNewer(path, blobs.GetValueOrDefault(relative)))
                {
                    await UploadAsync(path, _root + FilesFolder + relative, null, cancellationToken);
                }
            }

            var statePath = Path.Combine(runDirectory, RunStateFile.FileName);
            if (!File.Exists(statePath) || !IsNewer(statePath, blobs.GetValueOrDefault(RunStateFile.FileName)))
            {
                return;
            }

            var local = RunStateFile.Read(runDirectory)!;
            var stateBlob = _container.GetBlobClient(_root + FilesFolder + RunStateFile.FileName);
            var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
            if (blobs.ContainsKey(RunStateFile.FileName))
            {
                var stored = await stateBlob.DownloadContentAsync(cancellationToken);
                var storedState = RunStateFile.Parse(stored.Value.Content.ToString());
                if (storedState?.Epoch > local.Epoch)
                {
                    throw new RunSupersededException($"{Description}: run_state.json was written by epoch {storedState.Epoch}, newer than this activation's {local.Epoch}");
                }

                conditions = new BlobRequestConditions { IfMatch = stored.Value.Details.ETag };
            }

            try
            {
                await UploadAsync(statePath, stateBlob.Name, conditions, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                throw new RunSupersededException($"{Description}: run_state.json changed while this activation (epoch {local.Epoch}) wrote it");
            }

            if (local.HasTrainerState)
            {
                await PruneTrainerStatesAsync(local.Step, cancellationToken);
            }
        }, cancellationToken);

    /// <summary>
    /// Pulls every run file whose blob is newer than the local copy (or missing here) into <paramref name="runDirectory"/>;
    /// returns how many it pulled. Nothing happens when the store holds no such run.
    /// </summary>
    public Task<int> PullAsync(string runDirectory, CancellationToken cancellationToken = default) =>
        BlobStoreGuard.RunAsync(Description, $"pull into {runDirectory}", async () =>
        {
            var pulled = 0;
            foreach (var (relative, blob) in await ListAsync(_root + FilesFolder, cancellationToken))
            {
                var path = Path.Combine(runDirectory, relative.Replace('/', Path.DirectorySeparatorChar));
                if (IsSafeRelativePath(relative) && IsNewer(blob, path))
                {
                    await DownloadAsync(_root + FilesFolder + relative, path, blob.LastModified, cancellationToken);
                    pulled++;
                }
            }

            return pulled;
        }, cancellationToken);

    /// <summary>Pushes the trainer state of <paramref name="step"/> saved in <paramref name="directory"/>, its marker last.</summary>
    public Task PushTrainerStateAsync(string directory, int step, CancellationToken cancellationToken = default) =>
        BlobStoreGuard.RunAsync(Description, $"push the trainer state of step {step}", async () =>
        {
            await EnsureContainerAsync(cancellationToken);
            var prefix = TrainerPrefix(step);
            var files = Directory.GetFiles(directory, "*", SearchOption.AllDirectories);
            foreach (var file in files)
            {
                await UploadAsync(file, prefix + "/" + Path.GetRelativePath(directory, file).Replace(Path.DirectorySeparatorChar, '/'), null, cancellationToken);
            }

            await _container.GetBlobClient(prefix + CompleteSuffix).UploadAsync(BinaryData.FromString(JsonSerializer.Serialize(new { step, files = files.Length })), overwrite: true, cancellationToken);
        }, cancellationToken);

    /// <summary>Pulls the trainer state of <paramref name="step"/> into an empty <paramref name="target"/>.</summary>
    /// <exception cref="CheckpointNotFoundException">The store holds no complete trainer state of that step.</exception>
    public Task PullTrainerStateAsync(int step, string target, CancellationToken cancellationToken = default) =>
        BlobStoreGuard.RunAsync(Description, $"pull the trainer state of step {step} into {target}", async () =>
        {
            var prefix = TrainerPrefix(step);
            if (!await _container.GetBlobClient(prefix + CompleteSuffix).ExistsAsync(cancellationToken))
            {
                throw new CheckpointNotFoundException($"{Description}: no complete trainer state of step {step} ({prefix}{CompleteSuffix} is missing)");
            }

            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            foreach (var (relative, blob) in await ListAsync(prefix + "/", cancellationToken))
            {
                await DownloadAsync(prefix + "/" + relative, Path.Combine(target, relative.Replace('/', Path.DirectorySeparatorChar)), blob.LastModified, cancellationToken);
            }
        }, cancellationToken);

    private async Task PruneTrainerStatesAsync(int keepStep, CancellationToken cancellationToken)
    {
        await foreach (var item in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, _root + TrainerFolder, cancellationToken))
        {
            var name = item.Name[(_root.Length + TrainerFolder.Length)..];
            var folder = name.Split('/')[0];
            if (folder.EndsWith(CompleteSuffix, StringComparison.Ordinal))
            {
                folder = folder[..^CompleteSuffix.Length];
            }

            if (folder.Length > 1 && folder[0] == 's' && int.TryParse(folder[1..], out var step) && step < keepStep)
            {
                await _container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
            }
        }
    }

    private string TrainerPrefix(int step) => $"{_root}{TrainerFolder}s{step:D6}";

    /// <summary>The run files of a run folder by their '/'-separated path under it.</summary>
    private static IEnumerable<(string Relative, string Path)> LocalFiles(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(runDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(runDirectory, path).Replace(Path.DirectorySeparatorChar, '/');
            var top = relative.Split('/')[0];
            if (!LocalOnly.Contains(top) && !relative.EndsWith(".tmp", StringComparison.Ordinal) && !relative.EndsWith(".partial", StringComparison.Ordinal))
            {
                yield return (relative, path);
            }
        }
    }

    /// <summary>A blob name that stays inside the run folder: no empty, <c>.</c> or <c>..</c> segment, no backslash.</summary>
    private static bool IsSafeRelativePath(string relative) =>
        relative.Length > 0 && relative.IndexOfAny(['\\', '\0', ':']) < 0 && relative.Split('/').All(part => part is not ("" or "." or ".."));

    // Blob times have whole seconds. A file is pushed unless its blob is as long and at least as new (a file written in the
    // second of its last upload is sent again); it is pulled when missing, when its blob is newer, or when the blob is as
    // new and of another length (a second upload within the second a reader pulled). A file the writing silo changed after
    // its last push is newer than its blob and is never pulled over.

    /// <summary>Whether the local file is to be pushed over <paramref name="blob"/>.</summary>
    private static bool IsNewer(string path, BlobItemProperties? blob) =>
        blob?.LastModified is not { } uploaded || blob.ContentLength != new FileInfo(path).Length || File.GetLastWriteTimeUtc(path) >= uploaded.UtcDateTime;

    /// <summary>Whether <paramref name="blob"/> is to be pulled over the local file.</summary>
    private static bool IsNewer(BlobItemProperties blob, string path)
    {
        if (!File.Exists(path))
        {
            return true;
        }

        var (local, uploaded) = (File.GetLastWriteTimeUtc(path), blob.LastModified?.UtcDateTime ?? DateTime.MaxValue);
        return uploaded > local || (uploaded >= local && blob.ContentLength != new FileInfo(path).Length);
    }

    private async Task<Dictionary<string, BlobItemProperties>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var blobs = new Dictionary<string, BlobItemProperties>(StringComparer.Ordinal);
        try
        {
            await foreach (var item in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
            {
                blobs[item.Name[prefix.Length..]] = item.Properties;
            }
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
        }

        return blobs;
    }

    private async Task UploadAsync(string path, string blobName, BlobRequestConditions? conditions, CancellationToken cancellationToken)
    {
        // A snapshot of the file: a live run may append to it while it is sent.
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        await _container.GetBlobClient(blobName).UploadAsync(stream, new BlobUploadOptions { Conditions = conditions }, cancellationToken);
    }

    private async Task DownloadAsync(string blobName, string path, DateTimeOffset? lastModified, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + "." + Guid.NewGuid().ToString("N")[..8] + ".partial";
        await _container.GetBlobClient(blobName).DownloadToAsync(partial, cancellationToken);
        if (lastModified is { } time)
        {
            File.SetLastWriteTimeUtc(partial, time.UtcDateTime);
        }

        File.Move(partial, path, overwrite: true);
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerReady)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerReady = true;
        }
    }
}
