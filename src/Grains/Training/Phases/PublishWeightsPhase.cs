namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The PublishWeights phase: the trainer hands the new weights to its silo's engine, writes them to the checkpoint store
/// as the new version and publishes (version, location) to the policy registry, from which generators on other silos
/// load them before their next generation. Returns the location, or null when the Update phase was skipped.
/// </summary>
public sealed class PublishWeightsPhase(RunContext run)
{
    public async Task<string?> RunAsync(bool updated, CancellationToken stop) =>
        updated ? await run.Trainer.PublishWeightsAsync(stop) : null;
}
