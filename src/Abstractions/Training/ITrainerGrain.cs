using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using Orleans.Concurrency;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// Holds a policy's trainable model and optimizer (key: policy id). Placed only on <c>agentrl.accelerator=cuda</c>
/// silos, or on a trainer-role CPU silo when CPU training is allowed.
/// </summary>
public interface ITrainerGrain : IGrainWithStringKey
{
    /// <summary>
    /// A fresh trainable model and optimizer for a run. Returns the version of its initial weights: 0, or — when the policy
    /// already published versions (an earlier run on this cluster) — the next version, published at once so that no
    /// engine keeps serving the earlier run's weights under this run's version numbers.
    /// </summary>
    Task<long> InitializeAsync(TrainerSpec spec, CancellationToken cancellationToken = default);

    /// <summary>
    /// The whole warm start in one call: minutes on a tiny model, hours on a large one or a busy machine, so it is exempt
    /// from the silos' call timeout (<c>AgentRl:Silo:CallTimeout</c>, 30 minutes); a lost trainer silo still fails it at once.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task<TrainResult> SftAsync(SftSpec spec, CancellationToken cancellationToken = default);

    /// <summary>
    /// The warm start in flight (or the last one): its status and the SFT batches after batch <paramref name="afterBatch"/>.
    /// It interleaves with <see cref="SftAsync"/>, which holds the grain for the whole warm start: it only reads a snapshot.
    /// </summary>
    [AlwaysInterleave]
    Task<WarmStartReport> GetWarmStartProgressAsync(int afterBatch, CancellationToken cancellationToken = default);

    /// <summary>
    /// The Reward phase's KL in the reward (<c>objective.useKlInReward</c>): β·Σ_t kl_t(old, ref) of each trajectory under the
    /// trainer's frozen reference policy, with the current β, and their mean token-mean KL. The KL controller is not
    /// updated: a step may shape its batch in parts (a swarm step's own, fill and external groups), all with the step's β,
    /// and then updates the controller once (<see cref="UpdateRewardKlAsync"/>). Throws when the run's objective does not
    /// use KL in the reward.
    /// </summary>
    Task<RewardKlPenalty> RewardKlAsync(IReadOnlyList<Trajectory> trajectories, CancellationToken cancellationToken = default);

    /// <summary>
    /// The step's one update of the KL-in-reward controller: <paramref name="currentKl"/> the mean token-mean KL(old, ref)
    /// over the <paramref name="sequences"/> trajectories the step trains on. Returns β after the update (unchanged for a
    /// fixed controller). Throws when the run's objective does not use KL in the reward.
    /// </summary>
    Task<double> UpdateRewardKlAsync(double currentKl, int sequences, CancellationToken cancellationToken = default);

    /// <summary>The fingerprint of the policy's tokenizer (what a shared group names as its producer's tokenizer).</summary>
    Task<string> GetTokenizerIdAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A swarm step's external groups in this policy's terms: each shared group re-rendered with this policy's chat template
    /// and tokenizer (the prompt is the receiver task's own), its logprobs under the current weights as old logprobs, and
    /// truncated importance weights where <see cref="ExternalRenderSpec.Correction"/> asks for them and the producer's
    /// behaviour logprobs belong to these tokens. A group that cannot be rendered comes back with its problem.
    /// </summary>
    Task<IReadOnlyList<ExternalGroup>> RenderExternalAsync(ExternalRenderSpec spec, IReadOnlyList<SharedGroup> groups, CancellationToken cancellationToken = default);

    /// <summary>
    /// The Update phase: one RL update (PPO epochs × mini-batches) on the batch the Advantage phase built. The new weights
    /// are not yet visible to generators: <see cref="PublishWeightsAsync"/> does that. Returns the new version, the loss
    /// parts and the update's metrics.
    /// </summary>
    Task<TrainResult> UpdateAsync(TrainBatch batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// The PublishWeights phase: the current weights to this silo's engine, to the checkpoint store as the current version,
    /// and (version, location) to the policy registry, from which other silos load them. Returns the location.
    /// </summary>
    Task<string> PublishWeightsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The Checkpoint phase's pruning of the checkpoint store: deletes every published version but the newest three and
    /// <paramref name="pinned"/> (the run's warm start and its best by eval accuracy). Returns the versions deleted.
    /// </summary>
    Task<IReadOnlyList<long>> PruneCheckpointsAsync(IReadOnlyList<long> pinned, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves the trainer's full state (model, reference, AdamW moments, counters) to <paramref name="directory"/>, bit-exact.
    /// With a blob run store (<see cref="TrainerSpec.RunStore"/>) and <paramref name="storeStep"/>, it is also pushed there
    /// as the state of that step, from the trainer's silo (whose disk no other silo may see).
    /// </summary>
    Task SaveStateAsync(string directory, int? storeStep = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Restores what <see cref="SaveStateAsync"/> wrote (after <see cref="InitializeAsync"/> with the same policy), then
    /// publishes the restored weights so generators use them. Returns the restored version and its checkpoint location.
    /// With a blob run store and <paramref name="storeStep"/>, the state of that step is pulled from the store into the run
    /// folder's <c>trainer-restore/</c> and loaded from there, whatever this silo's disk holds.
    /// </summary>
    Task<TrainResult> LoadStateAsync(string directory, int? storeStep = null, CancellationToken cancellationToken = default);
}
