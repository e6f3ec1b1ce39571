using AgentRl.Abstractions.Cluster;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Training.Phases;
using AgentRl.Policy.Checkpoints;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace AgentRl.Cluster.Tests.Storage;

/// <summary>
/// A storage error thrown by a grain on another silo reaches its caller as a storage error. Orleans serializes only the
/// exception namespaces it is told of, so a trainer's <see cref="CheckpointStoreException"/> during a blob outage failed
/// the response itself ("Could not find a codec") and the run failed instead of pausing (found by <c>ChaosTests</c>).
/// </summary>
public sealed class ExceptionSerializationTests
{
    [Fact]
    public async Task CheckpointStoreException_CrossesTheWire_AsAStorageOutage()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var serializer = cluster.Cluster.GetSiloServiceProvider(cluster.Cluster.Silos[0].SiloAddress).GetRequiredService<Serializer>();
        var error = new CheckpointStoreException("blob store 'runs' unreachable at runs/r/trainer", new IOException("Connection refused"));

        var read = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(error))!;

        Assert.True(StorageOutage.Is(read), $"{read.GetType()}: {read.Message}");
        Assert.Equal("blob store 'runs' unreachable at runs/r/trainer", StorageOutage.Reason(read));
        Assert.IsType<IOException>(read.InnerException);
    }

    [Fact]
    public void WithoutTheSetting_OrleansCannotWriteIt()
    {
        // What the setting is for: Orleans' defaults refuse an exception of an AgentRl namespace.
        using var plain = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var error = new CheckpointStoreException("blob store unreachable");
        Assert.ThrowsAny<Exception>(() => plain.GetRequiredService<Serializer>().SerializeToArray<Exception>(error));

        using var configured = new ServiceCollection().AddSerializer().AddAgentRlExceptions().BuildServiceProvider();
        var serializer = configured.GetRequiredService<Serializer>();
        Assert.True(StorageOutage.Is(serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(error))!));
    }
}
