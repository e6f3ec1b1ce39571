namespace AgentRl.Abstractions.Training;

/// <summary>What a warm start is doing: building demonstrations with the real tools, or SFT batches.</summary>
public enum WarmStartStage
{
    /// <summary>Not started yet (or no warm start in flight).</summary>
    None,

    /// <summary>Building demonstrations: <see cref="WarmStartStatus.Done"/> of <see cref="WarmStartStatus.Total"/> items.</summary>
    Demonstrations,

    /// <summary>SFT: <see cref="WarmStartStatus.Done"/> of <see cref="WarmStartStatus.Total"/> batches of the current pass.</summary>
    Sft,

    /// <summary>Finished: the last batch is done.</summary>
    Done,
}

/// <summary>
/// Where a warm start stands, for progress displays: the stage, how far it is, the last batch loss and the time left in
/// the stage (from the rate so far). <see cref="Pass"/> counts SFT passes (the gold phase is 1, the flaw phase 2).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.warm-start-status.v1")]
public sealed record WarmStartStatus
{
    [Id(0)] public WarmStartStage Stage { get; init; }
    [Id(1)] public int Pass { get; init; }
    [Id(2)] public int Done { get; init; }
    [Id(3)] public int Total { get; init; }
    [Id(4)] public double? Loss { get; init; }
    [Id(5)] public double? EtaSeconds { get; init; }

    /// <summary>SFT batches done over all passes (the x of the warm-start loss curve).</summary>
    [Id(6)] public int Batches { get; init; }

    /// <summary>Done / Total, 0 when the total is not known yet.</summary>
    public double Fraction => Total > 0 ? Math.Clamp((double)Done / Total, 0, 1) : 0;
}

/// <summary>One SFT batch of a warm start: its number over all passes (from 1), pass, epoch (from 1), loss and learning rate.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.sft-batch.v1")]
public sealed record SftBatchRecord(
    [property: Id(0)] int Batch,
    [property: Id(1)] int Pass,
    [property: Id(2)] int Epoch,
    [property: Id(3)] double Loss,
    [property: Id(4)] double LearningRate);

/// <summary>A warm start's status and the batches done after the one the caller had seen.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.warm-start-report.v1")]
public sealed record WarmStartReport(
    [property: Id(0)] WarmStartStatus Status,
    [property: Id(1)] IReadOnlyList<SftBatchRecord> Batches);
