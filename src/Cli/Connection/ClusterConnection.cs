using AgentRl.Client;
using AgentRl.Client.Embedded;
using Microsoft.Extensions.Logging;

namespace AgentRl.Cli.Connection;

/// <summary>
/// A command's connection: an <see cref="AgentRlClient"/> over a cluster (<see cref="AgentRlClient.ConnectAsync"/>) or over a
/// silo hosted in this process (<see cref="EmbeddedAgentRl.StartAsync"/>), and the Orleans client the commands call.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private ClusterConnection(AgentRlClient api, ClusterTarget target)
    {
        Api = api;
        Target = target;
    }

    public ClusterTarget Target { get; }

    /// <summary>The client library's view of the cluster.</summary>
    public AgentRlClient Api { get; }

    /// <summary>The Orleans client underneath.</summary>
    public IClusterClient Client => Api.Cluster;

    /// <summary>Starts an embedded silo or connects to a cluster; throws <see cref="ClusterConnectionException"/> with a clear message.</summary>
    /// <param name="target">Where to connect.</param>
    /// <param name="logLevel">Minimum level of framework logs (on stderr).</param>
    /// <param name="embeddedConfiguration">Extra configuration for an embedded silo (e.g. <c>AgentRl:Policies:default:ModelDir</c>); ignored for a cluster.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<ClusterConnection> ConnectAsync(ClusterTarget target, LogLevel logLevel, IReadOnlyDictionary<string, string?>? embeddedConfiguration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Kind != ClusterTargetKind.Embedded)
        {
            var address = target.Kind == ClusterTargetKind.Redis ? $"redis://{target.Address}" : $"localhost:{target.Address}";
            var security = ClientSecurity.FromEnvironment();
            if (ClientSecurity.PlainTextWarning(target, security) is { } warning)
            {
                Console.Error.WriteLine(warning);
            }

            return new(await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = address, ClusterId = target.ClusterId, ServiceId = target.ServiceId, LogLevel = logLevel, Security = security }, cancellationToken), target);
        }

        // Ctrl-C and SIGTERM are the command's (CliSignals): the embedded host's lifetime ignores them.
        var options = new EmbeddedAgentRlOptions { ClusterId = target.ClusterId, ServiceId = target.ServiceId, LogLevel = logLevel };
        foreach (var (key, value) in embeddedConfiguration ?? new Dictionary<string, string?>())
        {
            options.Configuration[key] = value;
        }

        return new(await EmbeddedAgentRl.StartAsync(options, cancellationToken), target);
    }

    public ValueTask DisposeAsync() => Api.DisposeAsync();
}
