using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The Update phase: one RL update on the trainer grain (PPO epochs × mini-batches, the objective's loss, AdamW). A step
/// with nothing to train on (every group dropped) skips it: <c>train/skipped</c> = 1 and the version stays.
/// </summary>
public sealed class UpdatePhase(RunContext run)
{
    public async Task<TrainResult?> RunAsync(TrainBatch batch, CancellationToken stop) =>
        batch.Trajectories.Count == 0 ? null : await run.Trainer.UpdateAsync(batch, stop);
}
