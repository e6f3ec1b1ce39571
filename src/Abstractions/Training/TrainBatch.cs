using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// The Update phase's input: the step's trajectories (rewards already shaped by the Reward phase) with the advantages the
/// Advantage phase computed for them.
/// </summary>
/// <param name="Trajectories">The trajectories to train on.</param>
/// <param name="Advantages">One advantage per trajectory.</param>
/// <param name="TokenAdvantages">Per-token advantages per trajectory (hard tree attribution), null where the trajectory's own applies.</param>
/// <param name="TokenWeights">
/// Per-token weights of the policy loss per trajectory (a swarm's truncated importance weights of external groups), null
/// where none applies; the list itself is null when no trajectory has any.
/// </param>
[GenerateSerializer, Immutable, Alias("agentrl.train-batch.v1")]
public sealed record TrainBatch(
    [property: Id(0)] IReadOnlyList<Trajectory> Trajectories,
    [property: Id(1)] float[] Advantages,
    [property: Id(2)] IReadOnlyList<float[]?> TokenAdvantages,
    [property: Id(3)] IReadOnlyList<float[]?>? TokenWeights = null);
