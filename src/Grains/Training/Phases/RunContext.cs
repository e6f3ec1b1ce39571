using AgentRl.Abstractions.Training;
using AgentRl.Policy.Algorithms;
using AgentRl.Tasks;

namespace AgentRl.Grains.Training.Phases;

/// <summary>What every phase of one attempt at a run shares: the configuration, what it resolved to, the task, the trainer.</summary>
/// <param name="Config">The run's configuration.</param>
/// <param name="Algorithm">The algorithm, objective, trainer options and branching settings the configuration resolves to.</param>
/// <param name="Task">The task the run trains on.</param>
/// <param name="Trainer">The policy's trainer grain.</param>
/// <param name="Grains">The grain factory of the run grain.</param>
/// <param name="RunDirectory">The run's folder (absolute).</param>
public sealed record RunContext(RunConfig Config, ResolvedAlgorithm Algorithm, IAgentTask Task, ITrainerGrain Trainer, IGrainFactory Grains, string RunDirectory);
