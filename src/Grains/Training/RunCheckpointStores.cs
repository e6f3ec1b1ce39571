using AgentRl.Abstractions.Training;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Grains.Training;

/// <summary>
/// Builds the checkpoint store a run selects (<see cref="RunConfig.ResolveCheckpointStore"/>). The Azure store takes its
/// connection from the run configuration, or else from the silo's <c>AgentRl:Checkpoints</c> section (connection string or
/// service URI, retries and timeouts).
/// </summary>
public static class RunCheckpointStores
{
    /// <summary>The store of <paramref name="spec"/>; a local store lives under <paramref name="localRoot"/> (the run folder's parent).</summary>
    public static ICheckpointStore Create(CheckpointStoreSpec spec, string localRoot, CheckpointStoreOptions siloDefaults) =>
        CheckpointStoreFactory.Create(Options(spec, localRoot, siloDefaults), spec.RunId);

    public static CheckpointStoreOptions Options(CheckpointStoreSpec spec, string localRoot, CheckpointStoreOptions siloDefaults)
    {
        if (spec.Kind != CheckpointStoreSpec.AzureBlob)
        {
            return new CheckpointStoreOptions { Kind = spec.Kind, Root = localRoot };
        }

        var fromRun = !string.IsNullOrWhiteSpace(spec.ConnectionString);
        return new CheckpointStoreOptions
        {
            Kind = CheckpointStoreOptions.AzureBlobKind,
            ConnectionString = fromRun ? spec.ConnectionString : siloDefaults.ConnectionString,
            ServiceUri = fromRun ? null : siloDefaults.ServiceUri,
            Container = spec.Container,
            Prefix = spec.Prefix,
            MaxRetries = siloDefaults.MaxRetries,
            NetworkTimeout = siloDefaults.NetworkTimeout,
        };
    }
}
