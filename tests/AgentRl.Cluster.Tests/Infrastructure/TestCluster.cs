using AgentRl.Abstractions.Cluster;
using AgentRl.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>
/// An in-process multi-silo Orleans cluster with AgentRl added to every silo. the <c>configureSilo</c> callback of <see cref="StartAsync"/> gets the
/// silo's index (0 = the first silo) and may change that silo's AgentRl options, e.g. to declare one silo <c>cuda</c>.
/// </summary>
public sealed class AgentRlTestCluster : IAsyncDisposable
{
    private AgentRlTestCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    /// <summary>
    /// Starts the cluster; <c>configureState</c> sets every silo's grain storage and reminders (default: in memory);
    /// <c>configuration</c> adds keys to every silo host's configuration (e.g. <c>AgentRl:Tasks:Plugins:…</c>);
    /// <c>configureClient</c> changes the test client (e.g. trace propagation).
    /// </summary>
    public static async Task<AgentRlTestCluster> StartAsync(
        int silos = 2,
        Action<int, AgentRlSiloOptions>? configureSilo = null,
        Action<ISiloBuilder>? configureBuilder = null,
        Action<ISiloBuilder>? configureState = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<IClientBuilder>? configureClient = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        if (configuration is not null)
        {
            builder.ConfigureSiloHost((_, host) => host.Configuration.AddInMemoryCollection(configuration));
        }

        builder.ConfigureSilo((options, silo) =>
        {
            var index = SiloIndex(options.SiloName);
            silo.AddAgentRl(o =>
            {
                o.Accelerator = "cpu";
                o.TorchThreads = 1;
                configureSilo?.Invoke(index, o);
            });
            if (configureState is null)
            {
                silo.AddAgentRlInMemoryState();
            }
            else
            {
                configureState(silo);
            }

            configureBuilder?.Invoke(silo);
        });
        // The test client waits as long as the silos do (a loaded 2-core CI machine runs 200 episodes past the 30 s default).
        builder.ConfigureClient(client =>
        {
            client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
            client.Services.AddAgentRlExceptions();   // as AgentRlClient does
            configureClient?.Invoke(client);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new AgentRlTestCluster(cluster);
    }

    /// <summary>The in-process test host names silos "Silo_0", "Silo_1", …</summary>
    public static int SiloIndex(string siloName) =>
        int.TryParse(siloName[(siloName.LastIndexOf('_') + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var index) ? index : 0;

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>xunit fixture: one two-silo cluster shared by the tests of a class.</summary>
public sealed class TwoSiloClusterFixture : IAsyncLifetime
{
    public AgentRlTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await AgentRlTestCluster.StartAsync(2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
