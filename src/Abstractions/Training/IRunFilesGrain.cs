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

    /// <summary>
    /// Whether two runs computed the same thing (<c>agentrl runs diff</c>), compared on the silo: <c>metrics.csv</c> byte for
    /// byte (naming the first differing cell), the sampled trajectories, and every checkpoint and trainer-state weight file
    /// by SHA-256. <paramref name="runB"/> is under <paramref name="runBDirectory"/> when given, else under this directory.
    /// </summary>
    /// <returns>The differences; none when the runs are the same.</returns>
    /// <exception cref="ArgumentException">A run id that is not one, or a run that does not exist.</exception>
    Task<IReadOnlyList<RunDifference>> DiffAsync(string runA, string runB, string? runBDirectory = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The checkpoint run <paramref name="runId"/> recorded for <paramref name="step"/> (the last recorded when null), as a
    /// model directory the silos can load (<c>agentrl eval --run</c>). A run whose checkpoints live in a blob store has the
    /// version downloaded here once, into the run folder's <c>eval-cache/</c>, and checked against its manifest.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// No such run, no <c>run_state.json</c>, no checkpoint recorded for the step, or one no longer kept in the store
    /// (the message lists the steps that are), or a store that cannot be listed or read.
    /// </exception>
    Task<RunCheckpoint> ResolveCheckpointAsync(string runId, int? step = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves swarm <paramref name="swarm"/>'s definition (<see cref="Swarm.SwarmFiles.DefinitionFileName"/> in its folder
    /// under this directory), unless one is there and <paramref name="overwrite"/> is false.
    /// </summary>
    /// <exception cref="ArgumentException">Not a swarm name, or a definition larger than <see cref="RunFiles.MaxTextBytes"/>.</exception>
    Task SaveSwarmDefinitionAsync(string swarm, string definitionJson, bool overwrite, CancellationToken cancellationToken = default);

    /// <summary>Swarm <paramref name="swarm"/>'s saved definition, or null when it has none.</summary>
    /// <exception cref="ArgumentException">Not a swarm name.</exception>
    Task<string?> ReadSwarmDefinitionAsync(string swarm, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes swarm <paramref name="swarm"/>'s <c>swarm.csv</c> and <c>swarm.png</c> from its members' <c>metrics.csv</c>
    /// (members that logged nothing have no rows), and returns the rows.
    /// </summary>
    /// <exception cref="ArgumentException">Not a swarm name, or a member that is not a run id.</exception>
    Task<IReadOnlyList<Swarm.SwarmRow>> WriteSwarmReportAsync(string swarm, IReadOnlyList<string> members, CancellationToken cancellationToken = default);
}

/// <summary>A run's checkpoint of one step, resolved on the silos (<see cref="IRunFilesGrain.ResolveCheckpointAsync"/>).</summary>
/// <param name="Step">The step (0 = the warm start).</param>
/// <param name="Version">The policy version the checkpoint holds.</param>
/// <param name="Directory">The model directory as the silos see it.</param>
/// <param name="Location">Where the store keeps the version, for a person.</param>
/// <param name="Config">The run's configuration: task, task options, limits, held-out items and seed to evaluate with.</param>
[GenerateSerializer, Immutable, Alias("agentrl.run-checkpoint.v1")]
public sealed record RunCheckpoint(
    [property: Id(0)] int Step,
    [property: Id(1)] long Version,
    [property: Id(2)] string Directory,
    [property: Id(3)] string Location,
    [property: Id(4)] RunConfig Config);

/// <summary>One difference between two runs: the file (relative to the run directory) and what differs.</summary>
/// <param name="File">Path relative to the run directory, with forward slashes.</param>
/// <param name="What">What differs, for a person.</param>
[GenerateSerializer, Immutable, Alias("agentrl.run-difference.v1")]
public sealed record RunDifference([property: Id(0)] string File, [property: Id(1)] string What);

/// <summary>What <see cref="IRunFilesGrain"/> serves: a run's artifacts by name, never a path outside its folder.</summary>
public static class RunFiles
{
    /// <summary>Sorted steps as ranges for a message: <c>0-3, 5, 7-9</c>.</summary>
    public static string StepRanges(IReadOnlyList<long> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var ranges = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            ranges.Add(j == i ? sorted[i].ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }

        return string.Join(", ", ranges);
    }

    /// <summary>The folder of sampled trajectories inside a run folder.</summary>
    public const string TrajectoryFolder = "trajectories";

    /// <summary>A run's per-step metrics (one row per step).</summary>
    public const string MetricsFile = "metrics.csv";

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
