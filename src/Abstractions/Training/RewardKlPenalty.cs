namespace AgentRl.Abstractions.Training;

/// <summary>KL to the reference policy as a reward penalty (verl <c>use_kl_in_reward</c>), computed by the trainer.</summary>
/// <param name="Penalties">β·Σ_t kl_t(old, ref) over each trajectory's generated tokens, in input order: subtract from its reward.</param>
/// <param name="CurrentKl">Batch mean of the per-trajectory token-mean KL, what the step gives the KL controller (<see cref="ITrainerGrain.UpdateRewardKlAsync"/>), weighted by the trajectories, with the other parts of its batch.</param>
/// <param name="Coef">The β applied.</param>
[GenerateSerializer, Immutable, Alias("agentrl.reward-kl-penalty.v1")]
public sealed record RewardKlPenalty(
    [property: Id(0)] double[] Penalties,
    [property: Id(1)] double CurrentKl,
    [property: Id(2)] double Coef);
