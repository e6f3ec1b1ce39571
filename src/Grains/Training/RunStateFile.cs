using System.Text.Json;
using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training;

/// <summary>
/// <c>{RunDir}/{RunId}/run_state.json</c>: where a run stands on disk, written at every Checkpoint phase (after the
/// trainer state in <c>trainer/</c>) and when the run ends. <c>agentrl train --resume</c> continues after <see cref="Step"/>;
/// <c>agentrl runs</c> reads it when the cluster does not know the run.
/// </summary>
public sealed record RunStateFile
{
    public const string FileName = "run_state.json";
    public const string TrainerDirectoryName = "trainer";

    /// <summary>Last completed step (0 = initial evaluation and warm start done).</summary>
    public int Step { get; init; }

    public long PolicyVersion { get; init; }

    /// <summary>The run's state when written: Training while it goes, then Completed, Stopped or Failed.</summary>
    public string State { get; init; } = "Training";

    public string? Error { get; init; }

    public double? InitialEvalAccuracy { get; init; }

    public double? WarmStartEvalAccuracy { get; init; }

    public double? WarmStartLoss { get; init; }

    public double? FinalEvalAccuracy { get; init; }

    public string? CheckpointLocation { get; init; }

    /// <summary>Whether <c>trainer/</c> holds the trainer state of <see cref="Step"/>.</summary>
    public bool HasTrainerState { get; init; }

    public DateTimeOffset UpdatedUtc { get; init; }

    public required RunConfig Config { get; init; }

    /// <summary>Reads the file of a run directory; null when there is none.</summary>
    /// <exception cref="JsonException">The file is not a run state.</exception>
    public static RunStateFile? Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<RunStateFile>(File.ReadAllText(path), RunJson.Options) : null;
    }

    /// <summary>Writes the file atomically (temporary file, then move).</summary>
    public void Write(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, RunJson.Options));
        File.Move(temp, path, overwrite: true);
    }
}
