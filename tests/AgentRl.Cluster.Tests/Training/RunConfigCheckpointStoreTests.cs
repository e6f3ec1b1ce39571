using AgentRl.Abstractions.Training;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>How a run configuration names its checkpoint store.</summary>
public sealed class RunConfigCheckpointStoreTests
{
    [Fact]
    public void AzureBlobLocation_SetsContainerAndPrefix_AndKeepsTheConnectionString()
    {
        var spec = new RunConfig { RunId = "r1", CheckpointStore = "azure-blob://models/team-a/rl", CheckpointConnectionString = "UseDevelopmentStorage=true" }.ResolveCheckpointStore();

        Assert.Equal(new CheckpointStoreSpec("azure-blob", "UseDevelopmentStorage=true", "models", "team-a/rl", "r1"), spec);
    }

    [Fact]
    public void Defaults_AreTheLocalStore()
    {
        var spec = new RunConfig { RunId = "r1" }.ResolveCheckpointStore();

        Assert.Equal(("local", "agentrl", "runs"), (spec.Kind, spec.Container, spec.Prefix));
        Assert.DoesNotContain(new RunConfig().Validate(), p => p.Contains("checkpointStore", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownStore_IsInvalid()
    {
        Assert.Contains(new RunConfig { CheckpointStore = "s3" }.Validate(), p => p.Contains("checkpointStore", StringComparison.Ordinal));
    }
}
