namespace AgentRl.Abstractions.Training;

/// <summary>Where a run stands, for progress displays.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.run-status.v1")]
public sealed record RunStatus
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required RunState State { get; init; }
    [Id(2)] public string Phase { get; init; } = "";
    [Id(3)] public int Step { get; init; }
    [Id(4)] public int Steps { get; init; }
    [Id(5)] public long PolicyVersion { get; init; }
    [Id(6)] public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    [Id(7)] public double? InitialEvalAccuracy { get; init; }
    [Id(8)] public double? WarmStartEvalAccuracy { get; init; }
    [Id(9)] public double? FinalEvalAccuracy { get; init; }
    [Id(10)] public string? Error { get; init; }
    [Id(11)] public double ElapsedSeconds { get; init; }
    [Id(12)] public double? EtaSeconds { get; init; }
    [Id(13)] public string RunDirectory { get; init; } = "";

    /// <summary>Last warm-start (SFT) loss, when the run had a warm start.</summary>
    [Id(14)] public double? WarmStartLoss { get; init; }

    /// <summary>Where the latest published checkpoint is (a Hugging Face model directory for the local store).</summary>
    [Id(15)] public string? CheckpointLocation { get; init; }

    /// <summary>The silo hosting the run grain (its address), so operators and tests can see where a run lives.</summary>
    [Id(16)] public string? Silo { get; init; }

    /// <summary>How often this run was taken up again from its last checkpoint after losing a silo (its own or one it called).</summary>
    [Id(17)] public int Recoveries { get; init; }

    /// <summary>The run activation's fencing epoch; with <see cref="Sequence"/> it orders statuses (pushes may arrive out of order).</summary>
    [Id(18)] public long Epoch { get; init; }

    /// <summary>Counts the changes of status within <see cref="Epoch"/>: a status with a lower (Epoch, Sequence) is older.</summary>
    [Id(19)] public long Sequence { get; init; }

    /// <summary>The warm start in flight (demonstrations built, SFT batches, loss, time left), while the run is in its warm start.</summary>
    [Id(20)] public WarmStartStatus? WarmStart { get; init; }

    /// <summary>The step whose metrics <see cref="Metrics"/> holds (0 before the first step ends).</summary>
    [Id(21)] public int MetricsStep { get; init; }

    /// <summary>The equal-time SFT baseline (<see cref="RunConfig.Baseline"/>) once it ran.</summary>
    [Id(22)] public BaselineResult? Baseline { get; init; }

    /// <summary>Whether this status is newer than <paramref name="other"/> (or as new: a poll of the same state).</summary>
    public bool IsNotOlderThan(RunStatus? other) =>
        other is null || Epoch > other.Epoch || (Epoch == other.Epoch && Sequence >= other.Sequence);

    /// <summary>Whether the state is a finished one: Completed, Failed or Stopped.</summary>
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Stopped;
}
