using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// Fencing of a run's files by activation epoch: every start and every take-over of a run raises its epoch, written into
/// <c>run_state.json</c>, so a lost activation still running (in-process test silos, a partitioned silo) cannot write a
/// checkpoint, a metrics row or a final state over its successor's (<see cref="EnsureCurrent"/> throws
/// <see cref="RunSupersededException"/> instead).
/// </summary>
public static class RunFence
{
    /// <summary>An epoch above both the stored one and the one in <c>run_state.json</c> (grain storage may be newer than the files, or lost).</summary>
    public static long NextEpoch(string runDirectory, long storedEpoch, Action<Exception> onUnreadable)
    {
        long fileEpoch = 0;
        try
        {
            fileEpoch = RunStateFile.Read(runDirectory)?.Epoch ?? 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            onUnreadable(e);
        }

        return Math.Max(storedEpoch, fileEpoch) + 1;
    }

    /// <summary>Throws <see cref="RunSupersededException"/> when a newer activation of the run has written <c>run_state.json</c>.</summary>
    public static void EnsureCurrent(string runDirectory, long epoch)
    {
        var file = RunStateFile.Read(runDirectory);
        if (file is not null && file.Epoch > epoch)
        {
            throw new RunSupersededException($"epoch {epoch} was superseded by epoch {file.Epoch}");
        }
    }

    /// <summary>The end state (Completed, Stopped, Failed) that this start of the run recorded in <c>run_state.json</c>, if any.</summary>
    public static RunState? EndedInFiles(string runDirectory, string startId, long epoch)
    {
        var file = RunStateFile.Read(runDirectory);
        return file is { State: RunState.Completed or RunState.Stopped or RunState.Failed } && file.StartId == startId && file.Epoch >= epoch ? file.State : null;
    }

    /// <summary>
    /// A take-over continues after the last checkpoint of this start of the run (or of the run it resumed); with none yet
    /// it starts over, dropping any metrics rows written before the loss (ResetMetrics).
    /// </summary>
    public static (RunConfig Config, bool ResetMetrics) TakeOverConfig(RunConfig config, string runDirectory, string startId)
    {
        var file = RunStateFile.Read(runDirectory);
        var ours = file is { HasTrainerState: true } && (file.StartId == startId || config.Resume);
        return ours ? (config with { Resume = true }, false) : (config with { Resume = false }, true);
    }
}
