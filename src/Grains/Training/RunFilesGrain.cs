using System.Text;
using AgentRl.Abstractions.Training;
using AgentRl.Policy.Checkpoints;
using Orleans.Concurrency;

namespace AgentRl.Grains.Training;

/// <summary>
/// Serves a run directory's artifacts to clients (see <see cref="IRunFilesGrain"/>). A stateless worker: it runs on the
/// silo that takes the call, which reads the directory as that silo sees it (silos share the run directory).
/// </summary>
[StatelessWorker]
public sealed class RunFilesGrain : Grain, IRunFilesGrain
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

    private string RunFolder(string runId) =>
        RunFiles.IsRunId(runId)
            ? Path.Combine(Root, runId)
            : throw new ArgumentException($"'{runId}' is not a run id (one folder name, no '/' or '..').", nameof(runId));
}
