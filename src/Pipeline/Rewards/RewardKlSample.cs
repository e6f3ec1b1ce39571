namespace AgentRl.Pipeline.Rewards;

/// <summary>
/// The KL in the reward measured on part of a step's batch: the mean over <paramref name="Sequences"/> trajectories of each
/// one's token-mean KL(old, ref). A step's parts (a swarm step's own, fill and external groups) merge into the one sample
/// the adaptive KL controller is updated with, once per step, as verl updates it once per batch.
/// </summary>
/// <param name="MeanKl">Mean over the trajectories of their token-mean KL.</param>
/// <param name="Sequences">How many trajectories (verl's <c>n_steps</c> of the controller update).</param>
public sealed record RewardKlSample(double MeanKl, int Sequences)
{
    /// <summary>The sample of two parts together: the trajectory-weighted mean of their KLs; null when both are null.</summary>
    public static RewardKlSample? Merge(RewardKlSample? first, RewardKlSample? second)
    {
        if (first is null || second is null)
        {
            return first ?? second;
        }

        var sequences = first.Sequences + second.Sequences;
        return new RewardKlSample(sequences == 0 ? 0 : ((first.MeanKl * first.Sequences) + (second.MeanKl * second.Sequences)) / sequences, sequences);
    }
}
