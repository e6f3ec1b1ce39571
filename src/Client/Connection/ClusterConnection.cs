using System.Net;
using System.Net.Sockets;
using AgentRl.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace AgentRl.Client.Connection;

/// <summary>A started host (a client, or an embedded silo) and the cluster client the commands use.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host, ClusterTarget target)
    {
        _host = host;
        Target = target;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public ClusterTarget Target { get; }

    public IClusterClient Client { get; }

    /// <summary>Starts an embedded silo or connects to a cluster; throws <see cref="ClusterConnectionException"/> with a clear message.</summary>
    /// <param name="target">Where to connect.</param>
    /// <param name="logLevel">Minimum level of framework logs (on stderr).</param>
    /// <param name="embeddedConfiguration">Extra configuration for an embedded silo (e.g. <c>AgentRl:Policies:default:ModelDir</c>); ignored for a cluster.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<ClusterConnection> ConnectAsync(ClusterTarget target, LogLevel logLevel, IReadOnlyDictionary<string, string?>? embeddedConfiguration, CancellationToken cancellationToken)
    {
        if (target.Kind == ClusterTargetKind.Redis)
        {
            await ProbeRedisAsync(target.Address!, cancellationToken);
        }

        var host = target.Kind == ClusterTargetKind.Embedded ? BuildEmbeddedSilo(target, logLevel, embeddedConfiguration) : BuildClient(target, logLevel);
        try
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host, target);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new ClusterConnectionException($"cannot connect to the {target}: {SiloStartupErrors.Describe(e)}", e);
        }
    }

    /// <summary>How long the client waits for Redis to accept a connection before it says it cannot reach it.</summary>
    internal static readonly TimeSpan RedisProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Fails in seconds, naming the address and the flag, when nothing listens where <c>--cluster redis://…</c> points
    /// (the Redis client would retry for a minute and then quote its own connection-string advice).
    /// </summary>
    private static async Task ProbeRedisAsync(string address, CancellationToken cancellationToken)
    {
        var endpoint = address.Split(',', 2)[0].Trim();
        var colon = endpoint.LastIndexOf(':');
        var (hostName, port) = colon > 0 && int.TryParse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var p)
            ? (endpoint[..colon].Trim('[', ']'), p)
            : (endpoint.Trim('[', ']'), 6379);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RedisProbeTimeout);
        using var socket = new TcpClient();
        try
        {
            await socket.ConnectAsync(hostName, port, timeout.Token);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var why = e is SocketException s ? s.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"no such host '{hostName}'",
                _ => s.SocketErrorCode.ToString(),
            } : $"no answer in {RedisProbeTimeout.TotalSeconds:0} s";
            throw new ClusterConnectionException($"cannot reach Redis at {hostName}:{port} — is it running? ({why}; check --cluster redis://host:port or AGENTRL_CLUSTER)", e);
        }
    }

    private static IHost BuildEmbeddedSilo(ClusterTarget target, LogLevel logLevel, IReadOnlyDictionary<string, string?>? extra)
    {
        // The embedded silo takes free loopback ports so that it never collides with a silo already running here.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentRl:Cluster:Clustering"] = "localhost",
            ["AgentRl:Cluster:ClusterId"] = target.ClusterId,
            ["AgentRl:Cluster:ServiceId"] = target.ServiceId,
            ["AgentRl:Cluster:SiloPort"] = FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AgentRl:Cluster:GatewayPort"] = FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AgentRl:Cluster:SiloName"] = "embedded",
            // Embedded runs have no GPU silo: the trainer may run on this CPU silo (cluster silos default to false).
            ["AgentRl:Silo:AllowCpuTrainer"] = "true",
        });
        if (extra is not null)
        {
            builder.Configuration.AddInMemoryCollection(extra);
        }

        SetLogging(builder, logLevel);
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();   // Ctrl-C and SIGTERM are the command's
        AgentRlSiloHost.Configure(builder);
        return builder.Build();
    }

    private static IHost BuildClient(ClusterTarget target, LogLevel logLevel)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        SetLogging(builder, logLevel);
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();   // Ctrl-C and SIGTERM are the command's
        builder.UseOrleansClient(client =>
        {
            if (target.Kind == ClusterTargetKind.Redis)
            {
                client.UseRedisClustering(target.Address!);
            }
            else
            {
                client.UseLocalhostClustering(int.Parse(target.Address!, System.Globalization.CultureInfo.InvariantCulture), target.ServiceId, target.ClusterId);
            }

            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = target.ClusterId;
                o.ServiceId = target.ServiceId;
            });
            var attempts = 0;
            client.UseConnectionRetryFilter(async (exception, ct) =>
            {
                // A few quick retries ride out a gateway that is still starting; then fail with the reason.
                if (++attempts > 5)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
        });
        return builder.Build();
    }

    private static void SetLogging(HostApplicationBuilder builder, LogLevel level)
    {
        // Command-line levels win over the Logging section of appsettings.json.
        var name = level.ToString();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = name,
            ["Logging:LogLevel:Orleans"] = name,
            ["Logging:LogLevel:Microsoft"] = name,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(level);
        // Log to stderr so that command output on stdout stays clean for scripts.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}

/// <summary>The client could not reach the cluster (or start the embedded silo); the message says why.</summary>
public sealed class ClusterConnectionException(string message, Exception inner) : Exception(message, inner);
