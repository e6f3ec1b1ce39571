using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Grains.Training;

/// <summary>
/// Finds the checkpoint a run recorded for a step (<c>run_state.json</c>'s step checkpoints) in the run's checkpoint store,
/// as a model directory: the run's own <c>checkpoints/vNNNNNN</c>, or for a blob store a verified download into the run
/// folder's <c>eval-cache/</c>, reused by later calls.
/// </summary>
public static class RunCheckpointResolver
{
    /// <summary>The folder inside a run folder that holds checkpoints downloaded from a blob store for evaluation.</summary>
    public const string CacheFolder = "eval-cache";

    /// <exception cref="ArgumentException">Any reason the checkpoint cannot be had, in words for the person who asked.</exception>
    public static async Task<RunCheckpoint> ResolveAsync(string runFolder, string runId, int? step, CheckpointStoreOptions siloDefaults, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(runFolder))
        {
            throw new ArgumentException($"no run '{runId}' under {Path.GetDirectoryName(runFolder)} (agentrl runs list --run-dir DIR shows the runs there).");
        }

        var statePath = Path.Combine(runFolder, RunStateFile.FileName);
        RunStateFile? state;
        try
        {
            state = RunStateFile.Read(runFolder);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{statePath} is not a run state: {e.Message}");
        }

        if (state is null)
        {
            throw new ArgumentException($"run '{runId}' has no {RunStateFile.FileName} in {runFolder}: it recorded no checkpoint.");
        }

        if (state.Checkpoints.Count == 0)
        {
            throw new ArgumentException($"run '{runId}' recorded no step checkpoints in {RunStateFile.FileName} (a run of an earlier version); give --checkpoint {Path.Combine(runFolder, "checkpoints", "vNNNNNN")}.");
        }

        var recorded = step is { } wanted ? state.Checkpoints.LastOrDefault(c => c.Step == wanted) : state.Checkpoints[^1];
        if (recorded is null)
        {
            throw new ArgumentException($"run '{runId}' recorded no checkpoint for step {step}; steps recorded: {RunFiles.StepRanges([.. state.Checkpoints.Select(c => (long)c.Step)])}.");
        }

        var spec = state.Config.ResolveCheckpointStore();
        var local = spec.Kind == CheckpointStoreSpec.Local;
        ICheckpointStore store;
        IReadOnlyList<long> kept;
        try
        {
            store = local
                ? new LocalFolderCheckpointStore(Path.Combine(runFolder, "checkpoints"))
                : RunCheckpointStores.Create(spec, Path.GetDirectoryName(runFolder)!, siloDefaults);
            kept = await store.ListVersionsAsync(cancellationToken);
        }
        catch (Exception e) when (e is CheckpointStoreException or ArgumentException or InvalidOperationException or IOException)
        {
            throw new ArgumentException($"could not list the checkpoints of run '{runId}' ({spec.Kind}): {e.Message}");
        }

        if (!kept.Contains(recorded.Version))
        {
            var available = state.Checkpoints.Where(c => kept.Contains(c.Version)).Select(c => (long)c.Step).Distinct().Order().ToList();
            throw new ArgumentException($"the checkpoint of step {recorded.Step} of run '{runId}' (version {recorded.Version}) is no longer in {store.Description}; steps whose checkpoints are kept: {(available.Count == 0 ? "none" : RunFiles.StepRanges(available))}.");
        }

        var location = store.GetLocation(recorded.Version);
        var directory = local ? location : await DownloadOnceAsync(store, runFolder, runId, recorded.Version, cancellationToken);
        return new RunCheckpoint(recorded.Step, recorded.Version, directory, location, state.Config);
    }

    // A download goes to a sibling temporary folder and is moved into place whole, so a reader never sees half a checkpoint.
    private static async Task<string> DownloadOnceAsync(ICheckpointStore store, string runFolder, string runId, long version, CancellationToken cancellationToken)
    {
        var target = Path.Combine(runFolder, CacheFolder, CheckpointManifest.VersionName(version));
        if (File.Exists(Path.Combine(target, "config.json")))
        {
            return target;
        }

        var partial = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Directory.CreateDirectory(partial);
            await store.DownloadAsync(version, partial, cancellationToken);
            try
            {
                Directory.Move(partial, target);
            }
            catch (IOException) when (File.Exists(Path.Combine(target, "config.json")))
            {
                // Another call downloaded the same version first.
            }

            return target;
        }
        catch (Exception e) when (e is CheckpointStoreException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"could not download version {version} of run '{runId}' from {store.Description}: {e.Message}");
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                try
                {
                    Directory.Delete(partial, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Left for the next download attempt to ignore.
                }
            }
        }
    }
}
