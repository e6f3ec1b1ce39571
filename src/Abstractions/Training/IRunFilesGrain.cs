namespace AgentRl.Abstractions.Training;

/// <summary>
/// A run directory as the silos see it (key: the directory as a run's <see cref="RunConfig.RunDir"/> names it, e.g.
/// <c>runs</c>, resolved on the silo like the run grain resolves it). Clients read runs through it, so they need no
/// access to the silos' disk: <c>agentrl runs list|status|show</c> and <c>eval --run</c> work against a cluster whose
/// run directory is out of the client's reach. Only a run's artifacts can be read (<see cref="RunFiles.IsArtifact"/>).
/// </summary>
public interface IRunFilesGrain : IGrainWithStringKey
{
    /// <summary>The runs under the directory (folders holding <c>run_state.json</c> or <c>metrics.csv</c>), by id.</summary>
    Task<IReadOnlyList<string>> ListRunsAsync(CancellationToken cancellationToken = default);

    /// <summary>The absolute folder of run <paramref name="runId"/> on the silo, or null when it does not exist there.</summary>
    Task<string?> LocateAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The text of artifact <paramref name="file"/> of run <paramref name="runId"/> (a name from
    /// <see cref="RunFiles.Artifacts"/>, or <c>trajectories/NAME.jsonl</c>), or null when the run has no such file.
    /// </summary>
    /// <exception cref="ArgumentException">The run id or file is not one this grain serves.</exception>
    Task<string?> ReadTextAsync(string runId, string file, CancellationToken cancellationToken = default);

    /// <summary>The complete checkpoint versions in a run's own <c>checkpoints/</c> folder (a local checkpoint store), in order.</summary>
    Task<IReadOnlyList<long>> ListCheckpointVersionsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The files of a run's <c>trajectories/</c> folder, by name (empty when there are none).</summary>
    Task<IReadOnlyList<string>> ListTrajectoryFilesAsync(string runId, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IRunFilesGrain"/> serves: a run's artifacts by name, never a path outside its folder.</summary>
public static class RunFiles
{
    /// <summary>The folder of sampled trajectories inside a run folder.</summary>
    public const string TrajectoryFolder = "trajectories";

    /// <summary>The largest artifact served in one call (64 MiB of text).</summary>
    public const int MaxTextBytes = 64 * 1024 * 1024;

    /// <summary>The named artifacts of a run folder.</summary>
    public static IReadOnlyList<string> Artifacts { get; } = ["run_state.json", "config.json", "metrics.csv", "timings.csv", "sft.csv"];

    /// <summary>Whether <paramref name="runId"/> names a run folder (one path segment, no '..').</summary>
    public static bool IsRunId(string? runId) =>
        !string.IsNullOrWhiteSpace(runId) && runId is not "." and not ".." && runId.IndexOfAny(['/', '\\', '\0']) < 0;

    /// <summary>Whether <paramref name="file"/> is a named artifact or <c>trajectories/NAME.jsonl</c>.</summary>
    public static bool IsArtifact(string? file)
    {
        if (file is null)
        {
            return false;
        }

        if (Artifacts.Contains(file, StringComparer.Ordinal))
        {
            return true;
        }

        var prefix = TrajectoryFolder + "/";
        return file.StartsWith(prefix, StringComparison.Ordinal) && file.EndsWith(".jsonl", StringComparison.Ordinal) && IsRunId(file[prefix.Length..]);
    }
}
