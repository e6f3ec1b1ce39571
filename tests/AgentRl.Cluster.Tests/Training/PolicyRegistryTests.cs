using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Hosting;
using Orleans.Configuration;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>The policy registry survives the loss of its silo: grain storage in a real redis-server keeps the newest version.</summary>
public sealed class PolicyRegistryTests
{
    [Fact]
    public async Task RegistryOnAKilledSilo_ComesBackNamingTheNewestVersion_AndStillRefusesOlderOnes()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            2,
            configureBuilder: silo => silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 1;
                o.NumVotesForDeathDeclaration = 1;
            }),
            configureState: silo =>
            {
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
                silo.UseInMemoryReminderService();
            });
        var registry = cluster.Client.GetGrain<IPolicyRegistryGrain>("durable");
        await registry.PublishAsync(new PolicyVersionInfo(3, "/runs/a/checkpoints/v000003"));
        await registry.PublishAsync(new PolicyVersionInfo(7, "/runs/a/checkpoints/v000007"));

        // Kill whichever silo hosts the registry; a call from the client activates it on the survivor.
        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(registry);
        Assert.NotNull(host);
        var doomed = cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(host));
        await cluster.Cluster.KillSiloAsync(doomed);

        var deadline = DateTime.UtcNow.AddMinutes(1);
        PolicyVersionInfo? latest = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                latest = await registry.GetLatestAsync();
                break;
            }
            catch (Exception e) when (e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                await Task.Delay(500);
            }
        }

        Assert.Equal(new PolicyVersionInfo(7, "/runs/a/checkpoints/v000007"), latest);
        await Assert.ThrowsAsync<InvalidOperationException>(() => registry.PublishAsync(new PolicyVersionInfo(5, "/runs/a/checkpoints/v000005")));
    }
}
