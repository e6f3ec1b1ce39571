using System.Globalization;
using System.Net;
using System.Net.Sockets;
using AgentRl.Abstractions.Configuration;
using AgentRl.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentRl.Client.Embedded;

/// <summary>What <see cref="EmbeddedAgentRl.StartAsync"/> hosts.</summary>
public sealed class EmbeddedAgentRlOptions
{
    /// <summary>The Orleans cluster id of the embedded silo (default <c>agentrl</c>).</summary>
    public string ClusterId { get; set; } = "agentrl";

    /// <summary>The Orleans service id (default <c>agentrl</c>).</summary>
    public string ServiceId { get; set; } = "agentrl";

    /// <summary>The least level of Orleans' and AgentRl's logs written to stderr (default <see cref="LogLevel.Warning"/>).</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Warning;

    /// <summary>
    /// Silo configuration on top of appsettings.json and the environment, by key: e.g. a tool plug-in
    /// (<c>AgentRl:Tools:Plugins:inventory:Type</c>) or a task plug-in (<c>AgentRl:Tasks:Plugins:restock:Type</c>).
    /// </summary>
    public IDictionary<string, string?> Configuration { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The host's lifetime; default one that ignores Ctrl-C and SIGTERM (the app decides what they do).</summary>
    public IHostLifetime? Lifetime { get; set; }
}

/// <summary>
/// An AgentRl silo in this process (localhost clustering on free loopback ports; rollouts, tools and a CPU trainer) and an
/// <see cref="AgentRlClient"/> over it. Disposing the client stops the silo.
/// <code>
/// await using var client = await EmbeddedAgentRl.StartAsync();
/// await client.StartRunAsync(new RunConfig { RunId = "demo", Steps = 5 });
/// </code>
/// </summary>
public static class EmbeddedAgentRl
{
    /// <summary>Starts the silo and returns a client over it.</summary>
    /// <exception cref="ClusterConnectionException">The silo could not start; the message says why.</exception>
    /// <exception cref="SiloConfigurationException">The configuration is invalid (every problem listed).</exception>
    public static async Task<AgentRlClient> StartAsync(EmbeddedAgentRlOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmbeddedAgentRlOptions();
        var host = Build(options);
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not SiloConfigurationException)
        {
            host.Dispose();
            throw new ClusterConnectionException($"cannot start the embedded silo: {SiloStartupErrors.Describe(e)}", e);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return AgentRlClient.Over(host.Services.GetRequiredService<IClusterClient>(), async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await host.StopAsync(timeout.Token);
            }
            finally
            {
                host.Dispose();
            }
        });
    }

    private static IHost Build(EmbeddedAgentRlOptions options)
    {
        // Free loopback ports, so that it never collides with a silo already running here.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        var ports = FreeTcpPorts(2);   // two at once: ports picked one after the other can be the same one
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentRl:Cluster:Clustering"] = "localhost",
            ["AgentRl:Cluster:ClusterId"] = options.ClusterId,
            ["AgentRl:Cluster:ServiceId"] = options.ServiceId,
            ["AgentRl:Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["AgentRl:Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["AgentRl:Cluster:SiloName"] = "embedded",

            // An embedded silo has no GPU silo beside it: the trainer may run on this CPU silo (cluster silos default to false).
            ["AgentRl:Silo:AllowCpuTrainer"] = "true",
        });
        builder.Configuration.AddInMemoryCollection(options.Configuration);
        ClientLogging.Configure(builder, options.LogLevel);
        builder.Services.AddSingleton(options.Lifetime ?? new QuietHostLifetime());
        AgentRlSiloHost.Configure(builder);
        return builder.Build();
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeTcpPort() => FreeTcpPorts(1)[0];

    /// <summary>
    /// <paramref name="count"/> distinct free loopback ports: every listener stays open until all are chosen (found by the
    /// CLI tests: an embedded silo got the same port for its silo and gateway and refused to start).
    /// </summary>
    public static int[] FreeTcpPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
