using System.Text;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Storage;
using AgentRl.Policy.Checkpoints;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace AgentRl.Grains.Training;

/// <summary>
/// Serves a run directory's artifacts to clients (see <see cref="IRunFilesGrain"/>). A stateless worker: it runs on the
/// silo that takes the call, which reads the directory as that silo sees it: silos share the run directory, or, with a blob
/// run store (<c>AgentRl:RunStore</c>), a run's files are pulled from the store into this silo's folder before they are read.
/// </summary>
[StatelessWorker]
public sealed class RunFilesGrain(IOptions<CheckpointStoreOptions> checkpointOptions, IOptions<RunStoreOptions> runStoreOptions) : Grain, IRunFilesGrain
{
    /// <summary>Each run's blob store, built once per activation (a dashboard reads a run every few seconds).</summary>
    private readonly Dictionary<string, BlobRunStore> _stores = new(StringComparer.Ordinal);

    private string Root => Path.GetFullPath(this.GetPrimaryKeyString());

    public async Task<IReadOnlyList<string>> ListRunsAsync(CancellationToken cancellationToken = default)
    {
        IEnumerable<string> runs = Directory.Exists(Root)
            ? Directory.GetDirectories(Root)
                .Where(d => File.Exists(Path.Combine(d, "run_state.json")) || File.Exists(Path.Combine(d, "metrics.csv")))
                .Select(Path.GetFileName).OfType<string>()
            : [];
        if (runStoreOptions.Value.IsBlob)
        {
            runs = runs.Union(await runStoreOptions.Value.ListRunsAsync(checkpointOptions.Value, cancellationToken), StringComparer.Ordinal);
        }

        return [.. runs.Order(StringComparer.Ordinal)];
    }

    public async Task<string?> LocateAsync(string runId, CancellationToken cancellationToken = default)
    {
        var folder = await PulledRunFolderAsync(runId, cancellationToken);
        return Directory.Exists(folder) ? folder : null;
    }

    public async Task<string?> ReadTextAsync(string runId, string file, CancellationToken cancellationToken = default)
    {
        if (!RunFiles.IsArtifact(file))
        {
            throw new ArgumentException($"'{file}' is not a run artifact; files served: {string.Join(", ", RunFiles.Artifacts)}, {RunFiles.TrajectoryFolder}/NAME.jsonl.", nameof(file));
        }

        var path = Path.Combine(await PulledRunFolderAsync(runId, cancellationToken), file.Replace('/', Path.DirectorySeparatorChar));
        if (!File.Exists(path))
        {
            return null;
        }

        var length = new FileInfo(path).Length;
        if (length > RunFiles.MaxTextBytes)
        {
            throw new InvalidOperationException($"{path} is {length / (1024 * 1024)} MiB, more than the {RunFiles.MaxTextBytes / (1024 * 1024)} MiB served in one call.");
        }

        // Shared read: a live run may be appending to the file.
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    public Task<IReadOnlyList<long>> ListCheckpointVersionsAsync(string runId, CancellationToken cancellationToken = default) =>
        new LocalFolderCheckpointStore(Path.Combine(RunFolder(runId), "checkpoints")).ListVersionsAsync(cancellationToken);

    public async Task<IReadOnlyList<string>> ListTrajectoryFilesAsync(string runId, CancellationToken cancellationToken = default)
    {
        var folder = Path.Combine(await PulledRunFolderAsync(runId, cancellationToken), RunFiles.TrajectoryFolder);
        return Directory.Exists(folder)
            ? [.. Directory.GetFiles(folder, "*.jsonl").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
    }

    public async Task<IReadOnlyList<RunDifference>> DiffAsync(string runA, string runB, string? runBDirectory = null, CancellationToken cancellationToken = default)
    {
        var a = await PulledRunFolderAsync(runA, cancellationToken);
        var b = runBDirectory is null ? await PulledRunFolderAsync(runB, cancellationToken) : RunFolder(runB, Path.GetFullPath(runBDirectory));
        foreach (var (id, folder) in new[] { (runA, a), (runB, b) })
        {
            if (!Directory.Exists(folder))
            {
                throw new ArgumentException($"run '{id}' not found: {folder} does not exist.");
            }
        }

        return RunDiff.Compare(a, b);
    }

    public async Task<RunCheckpoint> ResolveCheckpointAsync(string runId, int? step = null, CancellationToken cancellationToken = default) =>
        await RunCheckpointResolver.ResolveAsync(await PulledRunFolderAsync(runId, cancellationToken), runId, step, checkpointOptions.Value, cancellationToken);

    public async Task SaveSwarmDefinitionAsync(string swarm, string definitionJson, bool overwrite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definitionJson);
        if (Encoding.UTF8.GetByteCount(definitionJson) > RunFiles.MaxTextBytes)
        {
            throw new ArgumentException($"a swarm definition of more than {RunFiles.MaxTextBytes / (1024 * 1024)} MiB is refused.", nameof(definitionJson));
        }

        var path = Path.Combine(SwarmFolder(swarm), SwarmFiles.DefinitionFileName);
        if (!overwrite && File.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".tmp";
        await File.WriteAllTextAsync(partial, definitionJson, cancellationToken);
        File.Move(partial, path, overwrite: true);
    }

    public async Task<string?> ReadSwarmDefinitionAsync(string swarm, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(SwarmFolder(swarm), SwarmFiles.DefinitionFileName);
        return File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken) : null;
    }

    public Task<IReadOnlyList<SwarmRow>> WriteSwarmReportAsync(string swarm, IReadOnlyList<string> members, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(members);
        var folder = SwarmFolder(swarm);
        foreach (var member in members)
        {
            _ = RunFolder(member, folder);
        }

        return Task.FromResult(SwarmReport.Write(folder, members));
    }

    /// <summary>A run's folder here, with what the silo's blob run store holds newer pulled into it first.</summary>
    private async Task<string> PulledRunFolderAsync(string runId, CancellationToken cancellationToken)
    {
        var folder = RunFolder(runId);
        if (runStoreOptions.Value.IsBlob)
        {
            if (!_stores.TryGetValue(runId, out var store))
            {
                _stores[runId] = store = runStoreOptions.Value.ForRun(runId, checkpointOptions.Value);
            }

            await store.PullAsync(folder, cancellationToken);
        }

        return folder;
    }

    private string SwarmFolder(string swarm) =>
        SwarmFiles.IsName(swarm)
            ? Path.Combine(Root, swarm)
            : throw new ArgumentException($"'{swarm}' is not a swarm name (one folder name, no '/' or '..').", nameof(swarm));

    private string RunFolder(string runId, string? root = null) =>
        RunFiles.IsRunId(runId)
            ? Path.Combine(root ?? Root, runId)
            : throw new ArgumentException($"'{runId}' is not a run id (one folder name, no '/' or '..').", nameof(runId));
}
