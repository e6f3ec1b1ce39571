namespace AgentRl.Abstractions.Training;

/// <summary>
/// The warm start: SFT on a task's demonstrations, some deliberately flawed. With <see cref="FlawPhaseDemonstrations"/> &gt; 0
/// it runs in two phases: first the gold demonstrations (and echo examples) alone, then a short phase of
/// <see cref="FlawPhaseDemonstrations"/> demonstrations of which <see cref="FlawedFraction"/> are flawed (with as many echo
/// examples) at <see cref="FlawPhaseLearningRate"/>. With 0, one phase with the flawed share mixed in.
/// With <see cref="TimeBudgetSeconds"/> its first phase stops when that much wall time (demonstrations included) has
/// passed, its schedule planned over <see cref="PlannedSteps"/> (the equal-time baseline, <see cref="RunConfig.Baseline"/>).
/// <see cref="RedrawResultShare"/> of the gold demonstrations get a second copy with their last tool result redrawn
/// (<see cref="RunConfig.SftRedrawResultShare"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.sft-spec.v1")]
public sealed record SftSpec(
    [property: Id(0)] string Task,
    [property: Id(1)] IReadOnlyDictionary<string, string> TaskOptions,
    [property: Id(2)] int Demonstrations,
    [property: Id(3)] double FlawedFraction,
    [property: Id(4)] int Epochs,
    [property: Id(5)] double LearningRate,
    [property: Id(6)] int Seed,
    [property: Id(7)] IReadOnlyList<string>? Flaws = null,
    [property: Id(8)] int EchoExamples = 0,
    [property: Id(9)] int FlawPhaseDemonstrations = 0,
    [property: Id(10)] double FlawPhaseLearningRate = 1e-3,
    [property: Id(11)] int BatchSize = 16,
    [property: Id(12)] int WarmupSteps = 20,
    [property: Id(13)] int FlawPhaseWarmupSteps = 10,
    [property: Id(14)] double? TimeBudgetSeconds = null,
    [property: Id(15)] int? PlannedSteps = null,
    [property: Id(16)] double RedrawResultShare = 0);
