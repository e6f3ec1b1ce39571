using System.Text.Json;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// <c>{RunDir}/{RunId}/run_state.json</c>: where a run stands on disk, written at every Checkpoint phase (after the
/// trainer state in <c>trainer/</c>) and when the run ends. <c>agentrl train --resume</c> continues after <see cref="Step"/>;
/// <c>agentrl runs</c> reads it when the cluster does not know the run.
/// </summary>
public sealed record RunStateFile
{
    public const string FileName = "run_state.json";
    public const string TrainerDirectoryName = "trainer";

    /// <summary>Where a Checkpoint phase writes the next trainer state before it replaces <see cref="TrainerDirectoryName"/>.</summary>
    public const string NextTrainerDirectoryName = "trainer.next";

    /// <summary>Last completed step (0 = initial evaluation and warm start done).</summary>
    public int Step { get; init; }

    public long PolicyVersion { get; init; }

    /// <summary>The run's state when written: Training while it goes, then Completed, Stopped or Failed.</summary>
    public RunState State { get; init; } = RunState.Training;

    public string? Error { get; init; }

    public double? InitialEvalAccuracy { get; init; }

    public double? WarmStartEvalAccuracy { get; init; }

    public double? WarmStartLoss { get; init; }

    public double? FinalEvalAccuracy { get; init; }

    public string? CheckpointLocation { get; init; }

    /// <summary>Whether <c>trainer/</c> holds the trainer state of <see cref="Step"/>.</summary>
    public bool HasTrainerState { get; init; }

    public DateTimeOffset UpdatedUtc { get; init; }

    /// <summary>The folder (under the run directory) holding the trainer state of <see cref="Step"/>: <c>trainer</c>, or <c>trainer.next</c> while a checkpoint is being committed.</summary>
    public string TrainerDirectory { get; init; } = TrainerDirectoryName;

    /// <summary>Fencing epoch of the run grain activation that wrote the file (the run grain's persisted epoch).</summary>
    public long Epoch { get; init; }

    /// <summary>The start of the run that wrote the file (the run grain's persisted start id).</summary>
    public string? StartId { get; init; }

    /// <summary>
    /// The absolute folder of the trainer state of <see cref="Step"/>. <c>trainer.next</c> is renamed to <c>trainer</c> once the
    /// file names it, so when it is gone the rename happened and <c>trainer</c> holds that state.
    /// </summary>
    public string TrainerPath(string runDirectory)
    {
        var named = Path.Combine(runDirectory, TrainerDirectory);
        return Directory.Exists(named) ? named : Path.Combine(runDirectory, TrainerDirectoryName);
    }

    /// <summary>
    /// The checkpoint of every step recorded so far, in step order (step 0 = the warm start): what <c>agentrl eval --run RUN
    /// --step N</c> evaluates. The store keeps the newest three versions, the warm start's and the best by eval accuracy
    /// (<see cref="StepCheckpoints.Pinned"/>); an entry whose version was deleted since stays listed.
    /// </summary>
    public IReadOnlyList<StepCheckpoint> Checkpoints { get; init; } = [];

    /// <summary>An asynchronous run (<see cref="RunConfig.Mode"/> <c>async</c>): its training stream at <see cref="Step"/>; null in sync mode.</summary>
    public AsyncRolloutState? Async { get; init; }

    /// <summary>The equal-time SFT baseline (<see cref="RunConfig.Baseline"/>) once it ran.</summary>
    public BaselineResult? Baseline { get; init; }

    /// <summary>Where a run that warm-starts with a baseline keeps its warm start's trainer state (the baseline continues from it).</summary>
    public const string WarmStartDirectoryName = "warmstart";

    public required RunConfig Config { get; init; }

    /// <summary>Reads the file of a run directory; null when there is none.</summary>
    /// <exception cref="JsonException">The file is not a run state.</exception>
    public static RunStateFile? Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<RunStateFile>(File.ReadAllText(path), RunJson.Options) : null;
    }

    /// <summary>A run state from the text of its file (as <see cref="IRunFilesGrain"/> serves it).</summary>
    /// <exception cref="JsonException">The text is not a run state.</exception>
    public static RunStateFile? Parse(string json) => JsonSerializer.Deserialize<RunStateFile>(json, RunJson.Options);

    /// <summary>Reads run <paramref name="runId"/>'s file through the cluster (the silos' disk); null when there is none.</summary>
    public static async Task<RunStateFile?> ReadAsync(IRunFilesGrain files, string runId, CancellationToken cancellationToken = default) =>
        await files.ReadTextAsync(runId, FileName, cancellationToken) is { } text ? Parse(text) : null;

    /// <summary>Writes the file atomically (temporary file, then move).</summary>
    public void Write(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, RunJson.Options));
        File.Move(temp, path, overwrite: true);
    }
}
