namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// One prompt's group of rollouts: <see cref="GroupSize"/> independent samples, or with <see cref="Branching"/> (presets
/// filled from the algorithm registry) an entropy-triggered rollout tree of M = GroupSize trajectories.
/// <see cref="TaskOptions"/> are the run's task options (reward weights, system prompt, difficulty): the episode's
/// prompt, tools and rewards come from the task built with them, as the run's items and demonstrations do.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.episode-spec.v1")]
public sealed record EpisodeSpec(
    [property: Id(0)] string PolicyId,
    [property: Id(1)] string TaskName,
    [property: Id(2)] string ItemJson,
    [property: Id(3)] int GroupSize,
    [property: Id(4)] SamplingSettings Sampling,
    [property: Id(5)] RolloutLimits Limits,
    [property: Id(6)] int Seed,
    [property: Id(7)] long MinPolicyVersion = 0,
    [property: Id(8)] BranchingSettings? Branching = null,
    [property: Id(9)] IReadOnlyDictionary<string, string>? TaskOptions = null);
