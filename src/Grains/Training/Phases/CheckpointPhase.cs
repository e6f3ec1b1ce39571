using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The Checkpoint phase and the run's file protocol: the trainer state (model, reference, AdamW moments, counters) goes
/// to <c>trainer.next/</c>, then <c>run_state.json</c> names it, then <c>trainer.next/</c> is renamed to <c>trainer/</c> and the
/// file updated — at every moment the file names a complete state. Every write is fenced by the activation's epoch
/// (<see cref="RunFence"/>).
/// </summary>
public sealed class CheckpointPhase(RunContext run, long epoch, string startId)
{
    /// <summary>
    /// Saves the trainer state of <paramref name="status"/>'s step and records it in <c>run_state.json</c> with the step's
    /// checkpoint (its policy version and <paramref name="evalAccuracy"/>, when the step was evaluated); then prunes the
    /// checkpoint store to the newest versions, the warm start's and the best one (<see cref="StepCheckpoints.Pinned"/>).
    /// An async run's training stream (<paramref name="stream"/>) is recorded with it.
    /// </summary>
    public async Task SaveAsync(RunStatus status, double? evalAccuracy, AsyncRolloutState? stream, CancellationToken stop)
    {
        var runDir = run.RunDirectory;
        RunFence.EnsureCurrent(runDir, epoch);
        Settle(runDir);
        var next = Path.Combine(runDir, RunStateFile.NextTrainerDirectoryName);
        if (Directory.Exists(next))
        {
            Directory.Delete(next, recursive: true);
        }

        await run.Trainer.SaveStateAsync(next, status.Step, stop);
        RunFence.EnsureCurrent(runDir, epoch);
        var checkpoints = StepCheckpoints.Record(RunStateFile.Read(runDir)?.Checkpoints ?? [], new StepCheckpoint(status.Step, status.PolicyVersion, evalAccuracy));
        (StateFile(run.Config, status, startId, epoch, RunState.Training, hasTrainerState: true) with
        {
            TrainerDirectory = RunStateFile.NextTrainerDirectoryName,
            Checkpoints = checkpoints,
            Async = stream,
        }).Write(runDir);
        Settle(runDir);
        await run.Trainer.PruneCheckpointsAsync(StepCheckpoints.Pinned(checkpoints), stop);
    }

    /// <summary>The baseline's result into <c>run_state.json</c> (fenced), the rest of the file as it is.</summary>
    public static void RecordBaseline(string runDir, long epoch, BaselineResult? baseline)
    {
        RunFence.EnsureCurrent(runDir, epoch);
        if (RunStateFile.Read(runDir) is { } file)
        {
            (file with { Baseline = baseline, UpdatedUtc = DateTimeOffset.UtcNow }).Write(runDir);
        }
    }

    /// <summary>When <c>run_state.json</c> names <c>trainer.next/</c>: replaces <c>trainer/</c> with it and updates the file.</summary>
    public static void Settle(string runDir)
    {
        var file = RunStateFile.Read(runDir);
        if (file is null || file.TrainerDirectory == RunStateFile.TrainerDirectoryName)
        {
            return;
        }

        var next = Path.Combine(runDir, RunStateFile.NextTrainerDirectoryName);
        var current = Path.Combine(runDir, RunStateFile.TrainerDirectoryName);
        if (Directory.Exists(next))
        {
            if (Directory.Exists(current))
            {
                Directory.Delete(current, recursive: true);
            }

            Directory.Move(next, current);
        }

        (file with { TrainerDirectory = RunStateFile.TrainerDirectoryName }).Write(runDir);
    }

    /// <summary>
    /// The end state goes into <c>run_state.json</c> too, keeping the last checkpointed step; nothing is written when a
    /// newer activation owns the files or no configuration is known.
    /// </summary>
    public static void RecordEnd(string runDir, long epoch, string startId, RunStatus status, RunConfig? config)
    {
        var previous = RunStateFile.Read(runDir);
        config = previous?.Config ?? config;
        if (config is null || previous?.Epoch > epoch)
        {
            return;
        }

        (StateFile(config, status with { Step = previous?.Step ?? 0 }, startId, epoch, status.State, previous?.HasTrainerState ?? false) with
        {
            PolicyVersion = previous?.PolicyVersion ?? 0,
            TrainerDirectory = previous?.TrainerDirectory ?? RunStateFile.TrainerDirectoryName,
            Checkpoints = previous?.Checkpoints ?? [],
            Async = previous?.Async,
        }).Write(runDir);
    }

    private static RunStateFile StateFile(RunConfig config, RunStatus status, string startId, long epoch, RunState state, bool hasTrainerState) => new()
    {
        Epoch = epoch,
        StartId = startId,
        Step = status.Step,
        PolicyVersion = status.PolicyVersion,
        State = state,
        Error = status.Error,
        InitialEvalAccuracy = status.InitialEvalAccuracy,
        WarmStartEvalAccuracy = status.WarmStartEvalAccuracy,
        WarmStartLoss = status.WarmStartLoss,
        FinalEvalAccuracy = status.FinalEvalAccuracy,
        CheckpointLocation = status.CheckpointLocation,
        HasTrainerState = hasTrainerState,
        Baseline = status.Baseline,
        UpdatedUtc = DateTimeOffset.UtcNow,
        Config = config.WithoutSecrets() with { Resume = false },
    };
}
