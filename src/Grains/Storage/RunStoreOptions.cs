using AgentRl.Abstractions.Training;
using AgentRl.Grains.Training;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Grains.Storage;

/// <summary>
/// Where this silo finds runs that are not on its own disk, for clients (<c>AgentRl:RunStore</c>): runs started with
/// <c>runStore: azure-blob</c> keep their files in the blob store, and a silo whose section names the same container and
/// prefix lists them and serves their files (pulled into its run folder first). The Azure connection is the silo's
/// <c>AgentRl:Checkpoints</c> one. Default <c>local</c>: the silo serves its run folder only.
/// </summary>
public sealed class RunStoreOptions
{
    public const string SectionName = "AgentRl:RunStore";

    /// <summary><c>local</c> (default) or <c>azure-blob</c>.</summary>
    public string Kind { get; set; } = CheckpointStoreSpec.Local;

    /// <summary>The container of the runs' blob store. Default <c>agentrl</c>.</summary>
    public string Container { get; set; } = "agentrl";

    /// <summary>The prefix above <c>{run}/files/</c>. Default <c>runs</c>.</summary>
    public string Prefix { get; set; } = "runs";

    public bool IsBlob => Kind == CheckpointStoreSpec.AzureBlob;

    /// <summary>Returns every problem with these options (with the silo's checkpoint connection), or none.</summary>
    public IEnumerable<string> Validate(CheckpointStoreOptions connection)
    {
        if (Kind is not (CheckpointStoreSpec.Local or CheckpointStoreSpec.AzureBlob))
        {
            yield return $"{SectionName}:Kind must be local or azure-blob (got '{Kind}').";
        }
        else if (IsBlob && string.IsNullOrWhiteSpace(connection.ConnectionString) && string.IsNullOrWhiteSpace(connection.ServiceUri))
        {
            yield return $"{SectionName}:Kind azure-blob takes its connection from {CheckpointStoreOptions.SectionName}:ConnectionString or :ServiceUri; neither is set.";
        }
    }

    /// <summary>The store of one run under these options.</summary>
    public BlobRunStore ForRun(string runId, CheckpointStoreOptions connection) => BlobRunStore.Create(Spec(runId), connection);

    /// <summary>The runs these options' store holds.</summary>
    public Task<IReadOnlyList<string>> ListRunsAsync(CheckpointStoreOptions connection, CancellationToken cancellationToken) =>
        BlobRunStore.ListRunsAsync(AzureBlobCheckpointStore.ContainerClient(RunCheckpointStores.Options(Spec(""), "", connection)), Prefix, cancellationToken);

    private CheckpointStoreSpec Spec(string runId) => new(CheckpointStoreSpec.AzureBlob, null, Container, Prefix, runId);
}
