using System.Text;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using AgentRl.Policy.Checkpoints;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace AgentRl.Grains.Training;

/// <summary>
/// Serves a run directory's artifacts to clients (see <see cref="IRunFilesGrain"/>). A stateless worker: it runs on the
/// silo that takes the call, which reads the directory as that silo sees it (silos share the run directory).
/// </summary>
[StatelessWorker]
public sealed class RunFilesGrain(IOptions<CheckpointStoreOptions> checkpointOptions) : Grain, IRunFilesGrain
{
    private string Root => Path.GetFullPath(this.GetPrimaryKeyString());

    public Task<IReadOnlyList<string>> ListRunsAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> runs = Directory.Exists(Root)
            ? [.. Directory.GetDirectories(Root)
                .Where(d => File.Exists(Path.Combine(d, "run_state.json")) || File.Exists(Path.Combine(d, "metrics.csv")))
                .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
        return Task.FromResult(runs);
    }

    public Task<string?> LocateAsync(string runId, CancellationToken cancellationToken = default)
    {
        var folder = RunFolder(runId);
        return Task.FromResult(Directory.Exists(folder) ? folder : null);
    }

    public async Task<string?> ReadTextAsync(string runId, string file, CancellationToken cancellationToken = default)
    {
        if (!RunFiles.IsArtifact(file))
        {
            throw new ArgumentException($"'{file}' is not a run artifact; files served: {string.Join(", ", RunFiles.Artifacts)}, {RunFiles.TrajectoryFolder}/NAME.jsonl.", nameof(file));
        }

        var path = Path.Combine(RunFolder(runId), file.Replace('/', Path.DirectorySeparatorChar));
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

    public Task<IReadOnlyList<string>> ListTrajectoryFilesAsync(string runId, CancellationToken cancellationToken = default)
    {
        var folder = Path.Combine(RunFolder(runId), RunFiles.TrajectoryFolder);
        IReadOnlyList<string> files = Directory.Exists(folder)
            ? [.. Directory.GetFiles(folder, "*.jsonl").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
        return Task.FromResult(files);
    }

    public Task<IReadOnlyList<RunDifference>> DiffAsync(string runA, string runB, string? runBDirectory = null, CancellationToken cancellationToken = default)
    {
        var a = RunFolder(runA);
        var b = RunFolder(runB, runBDirectory is null ? Root : Path.GetFullPath(runBDirectory));
        foreach (var (id, folder) in new[] { (runA, a), (runB, b) })
        {
            if (!Directory.Exists(folder))
            {
                throw new ArgumentException($"run '{id}' not found: {folder} does not exist.");
            }
        }

        return Task.FromResult(RunDiff.Compare(a, b));
    }

    public Task<RunCheckpoint> ResolveCheckpointAsync(string runId, int? step = null, CancellationToken cancellationToken = default) =>
        RunCheckpointResolver.ResolveAsync(RunFolder(runId), runId, step, checkpointOptions.Value, cancellationToken);

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

    private string SwarmFolder(string swarm) =>
        SwarmFiles.IsName(swarm)
            ? Path.Combine(Root, swarm)
            : throw new ArgumentException($"'{swarm}' is not a swarm name (one folder name, no '/' or '..').", nameof(swarm));

    private string RunFolder(string runId, string? root = null) =>
        RunFiles.IsRunId(runId)
            ? Path.Combine(root ?? Root, runId)
            : throw new ArgumentException($"'{runId}' is not a run id (one folder name, no '/' or '..').", nameof(runId));
}
