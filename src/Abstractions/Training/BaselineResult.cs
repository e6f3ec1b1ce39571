namespace AgentRl.Abstractions.Training;

/// <summary>
/// The equal-time SFT baseline of a run (<see cref="RunConfig.Baseline"/>): the warm start trained on for the RL steps'
/// wall time, and its held-out accuracy next to the run's. Kept in <c>baseline.json</c>, <c>run_state.json</c> and the
/// run's status.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.baseline-result.v1")]
public sealed record BaselineResult
{
    public const string FileName = "baseline.json";

    /// <summary><see cref="RunConfig.Baselines.SftEqualTime"/>.</summary>
    [Id(0)] public string Kind { get; init; } = RunConfig.Baselines.SftEqualTime;

    /// <summary>Training while it runs, then Completed, Stopped (a stop request during it) or Failed (<see cref="Error"/> says why).</summary>
    [Id(1)] public RunState State { get; init; }

    /// <summary>The wall time of the RL steps it is matched to: every phase of every step but Evaluate, from <c>timings.csv</c>.</summary>
    [Id(2)] public double RlSeconds { get; init; }

    /// <summary>The wall time the baseline's SFT took, its demonstrations included.</summary>
    [Id(3)] public double SftSeconds { get; init; }

    /// <summary>SFT steps the baseline ran.</summary>
    [Id(4)] public int SftSteps { get; init; }

    /// <summary>SFT steps its schedule was planned over: the RL seconds at the warm start's own seconds per step.</summary>
    [Id(5)] public int PlannedSteps { get; init; }

    /// <summary>Held-out greedy accuracy of the baseline's model.</summary>
    [Id(6)] public double? EvalAccuracy { get; init; }

    /// <summary>Held-out greedy accuracy of the warm start, and of the run after its RL steps, for the comparison.</summary>
    [Id(7)] public double? WarmStartEvalAccuracy { get; init; }

    [Id(8)] public double? RlEvalAccuracy { get; init; }

    /// <summary>The evaluation's metrics (eval/…) and the SFT's (sft/…, its wall time as sft/wall_seconds).</summary>
    [Id(9)] public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    [Id(10)] public string? Error { get; init; }

    /// <summary>RL's held-out accuracy over the baseline's, in points; null when either is missing.</summary>
    public double? RlGainPoints => RlEvalAccuracy is { } rl && EvalAccuracy is { } sft ? (rl - sft) * 100 : null;
}
