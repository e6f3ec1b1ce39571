using System.CommandLine;
using System.Text.Json;
using AgentRl.Abstractions.Configuration;
using AgentRl.Cli.Connection;
using AgentRl.Client;
using Microsoft.Extensions.Logging;

namespace AgentRl.Cli.Commands;

/// <summary>The options every command shares and the way a command gets a cluster connection.</summary>
public sealed class CliContext
{
    /// <summary>JSON for people and scripts: indented, camelCase, and text as written (no <c>\u002B</c> for '+', no <c>\u003C</c> for '&lt;').</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON document re-written compactly with <see cref="JsonOptions"/>' escaping.</summary>
    public static string Readable(string json)
    {
        using var document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement, new JsonSerializerOptions { Encoder = JsonOptions.Encoder });
    }

    /// <summary>Ctrl-C and SIGTERM: commands pass on its token and say what a stop keeps.</summary>
    public CliSignals Signals { get; init; } = CliSignals.None;

    public Option<string?> Cluster { get; } = new("--cluster")
    {
        Description = "redis://host:port, localhost[:gatewayPort], or embedded (default: a silo in this process). Also AGENTRL_CLUSTER.",
        Recursive = true,
    };

    public Option<string> ClusterId { get; } = new("--cluster-id")
    {
        Description = "Orleans cluster id. Also AGENTRL_CLUSTER_ID.",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AGENTRL_CLUSTER_ID") ?? "agentrl",
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Show Orleans and AgentRl logs (on stderr).",
        Recursive = true,
    };

    /// <summary>An exception's message for the user: an <see cref="ArgumentException"/> without its "(Parameter 'x')" suffix.</summary>
    public static string Message(Exception exception) =>
        exception is ArgumentException { ParamName: { } name }
            ? exception.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal)
            : exception.Message;

    /// <summary>Whether the command's silo is hosted in this process (no <c>--cluster</c>, or <c>embedded</c>): then the silo's disk is this machine's.</summary>
    public bool IsEmbedded(ParseResult parse)
    {
        try
        {
            return Target(parse).Kind == ClusterTargetKind.Embedded;
        }
        catch (FormatException)
        {
            return true;   // RunAsync reports the bad address
        }
    }

    /// <summary>Where the command connects: <c>--cluster</c>, else <c>AGENTRL_CLUSTER</c>, else an embedded silo.</summary>
    /// <exception cref="FormatException">The address is not understood.</exception>
    private ClusterTarget Target(ParseResult parse) =>
        ClusterTarget.Parse(parse.GetValue(Cluster) ?? Environment.GetEnvironmentVariable("AGENTRL_CLUSTER"), parse.GetValue(ClusterId)!);

    /// <summary>Connects, runs <paramref name="body"/>, disconnects; turns failures into a message on stderr and an exit code.</summary>
    public Task<int> RunAsync(ParseResult parse, Func<ClusterConnection, TextWriter, Task<int>> body, CancellationToken cancellationToken) =>
        RunAsync(parse, null, body, cancellationToken);

    /// <inheritdoc cref="RunAsync(ParseResult, Func{ClusterConnection, TextWriter, Task{int}}, CancellationToken)"/>
    public async Task<int> RunAsync(ParseResult parse, IReadOnlyDictionary<string, string?>? embeddedConfiguration, Func<ClusterConnection, TextWriter, Task<int>> body, CancellationToken cancellationToken)
    {
        ClusterTarget target;
        try
        {
            target = Target(parse);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"agentrl: {e.Message}");
            return 2;
        }

        try
        {
            await using var connection = await ClusterConnection.ConnectAsync(target, parse.GetValue(Verbose) ? LogLevel.Information : LogLevel.Critical, embeddedConfiguration, cancellationToken);
            return await body(connection, Console.Out);
        }
        catch (ClusterConnectionException e)
        {
            await Console.Error.WriteLineAsync($"agentrl: {e.Message}");
            return 3;
        }
        catch (SiloConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"agentrl: {e.Message}");
            return 2;
        }
        catch (ArgumentException e)
        {
            // Refused by the cluster (a run configuration, a task or an option it does not know): the user's input.
            await Console.Error.WriteLineAsync($"agentrl: {Message(e)}");
            return 2;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("agentrl: interrupted.");
            return CliSignals.InterruptedExitCode;
        }
        catch (Exception e)
        {
            // A failure inside the cluster (bad model directory, storage outage, …): one clear line, not a stack trace.
            await Console.Error.WriteLineAsync($"agentrl: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }
}
