using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Training;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace AgentRl.Cluster.Tests.Storage;

/// <summary>
/// The grain-state serializer of an AgentRl silo reads back what it wrote for the states AgentRl keeps, including members
/// whose runtime type is one the compiler made for a collection expression (a RunConfig's default <c>sftFlaws</c>).
/// Orleans' default JSON serializer writes those type names and cannot resolve them again, which failed a run's second
/// take-over in <c>ChaosTests</c>.
/// </summary>
public sealed class GrainStateSerializerTests
{
    [Fact]
    public async Task RunGrainState_WithDefaultCollections_RoundTrips()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var serializer = cluster.Cluster.GetSiloServiceProvider(cluster.Cluster.Silos[0].SiloAddress).GetRequiredService<IGrainStorageSerializer>();
        Assert.IsType<OrleansGrainStorageSerializer>(serializer);

        var config = new RunConfig { RunId = "r", TaskOptions = { ["teacherMentalOperators"] = "+-" } };
        Assert.StartsWith("<>z__", config.SftFlaws.GetType().Name, StringComparison.Ordinal);   // what the JSON serializer could not read back
        var state = new RunGrainState { Config = config, Active = true, Epoch = 3 };

        var read = serializer.Deserialize<RunGrainState>(serializer.Serialize(state))!;

        var readConfig = read.Config!;
        Assert.Equal(["skip-tool"], readConfig.SftFlaws);
        Assert.Equal("+-", readConfig.TaskOptions["teacherMentalOperators"]);
        Assert.Equal(3, read.Epoch);
        Assert.True(read.Active);
    }
}
