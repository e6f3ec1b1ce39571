namespace AgentRl.Abstractions.Training;

/// <summary>
/// What the trainer needs to build its model and optimizer. <see cref="LoadsState"/>: a saved state is loaded next
/// (resume, initFrom), so the initial weights are never published. <see cref="Objective"/> and <see cref="Trainer"/> are the
/// run's overrides (<see cref="RunConfig.Objective"/>, <see cref="RunConfig.Trainer"/>), resolved against the algorithm's preset
/// by the trainer exactly as the run resolves them. <see cref="RunStore"/>: the run's blob run store
/// (<see cref="RunConfig.ResolveRunStore"/>), where the trainer also keeps its saved states; null when the run folder is the store.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.trainer-spec.v1")]
public sealed record TrainerSpec(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Algorithm,
    [property: Id(2)] double LearningRate,
    [property: Id(3)] int TotalSteps,
    [property: Id(4)] int TokenBudget,
    [property: Id(5)] int Seed,
    [property: Id(6)] string CheckpointDirectory,
    [property: Id(8)] CheckpointStoreSpec? CheckpointStore = null,
    [property: Id(9)] bool LoadsState = false,
    [property: Id(10)] IReadOnlyDictionary<string, string>? Objective = null,
    [property: Id(11)] IReadOnlyDictionary<string, string>? Trainer = null,
    [property: Id(12)] CheckpointStoreSpec? RunStore = null);
