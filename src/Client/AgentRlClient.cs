using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tasks;
using AgentRl.Abstractions.Tools;
using AgentRl.Abstractions.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace AgentRl.Client;

/// <summary>
/// Drives AgentRl from a .NET app: start, follow, stop and resume training runs, read what they recorded, evaluate
/// checkpoints, call tools and list tasks. Everything goes through the cluster's grains, so the app needs no access to the
/// silos' disk. Connect to a cluster with <see cref="ConnectAsync"/>, or host a silo in the app with
/// <c>EmbeddedAgentRl.StartAsync</c> (package AgentRl.Client.Embedded).
/// <code>
/// await using var client = await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = "redis://127.0.0.1:6379" });
/// await client.StartRunAsync(new RunConfig { RunId = "demo", Steps = 10 });
/// await foreach (var status in client.FollowAsync("demo")) Console.WriteLine($"{status.State} step {status.Step}");
/// </code>
/// </summary>
public sealed class AgentRlClient : IAsyncDisposable
{
    /// <summary>The run directory of a run whose configuration does not name one (<see cref="RunConfig.RunDir"/>).</summary>
    public static readonly string DefaultRunDir = new RunConfig().RunDir;

    private const string PolicyDirectoryPrefix = "dir:";
    private readonly Func<ValueTask>? _dispose;

    private AgentRlClient(IClusterClient cluster, Func<ValueTask>? dispose)
    {
        Cluster = cluster;
        _dispose = dispose;
    }

    /// <summary>The Orleans client underneath, for grain calls of your own.</summary>
    public IClusterClient Cluster { get; }

    /// <summary>Connects to a cluster (Redis membership or a localhost gateway).</summary>
    /// <exception cref="ClusterConnectionException">The cluster cannot be reached; the message says why and where.</exception>
    /// <exception cref="FormatException"><see cref="AgentRlClientOptions.Cluster"/> is not an address.</exception>
    public static async Task<AgentRlClient> ConnectAsync(AgentRlClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = ClusterTarget.Parse(options.Cluster, options.ClusterId, options.ServiceId);
        if (target.Kind == ClusterTargetKind.Embedded)
        {
            throw new ArgumentException("an embedded silo is hosted by AgentRl.Client.Embedded (EmbeddedAgentRl.StartAsync); give redis://host:port or localhost[:port] here.", nameof(options));
        }

        if (target.Kind == ClusterTargetKind.Redis)
        {
            await ProbeRedisAsync(target.Address!, cancellationToken);
        }

        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate;
        try
        {
            var problems = options.Security.Problems().ToList();
            certificate = problems.Count > 0 ? throw new InvalidOperationException(string.Join("; ", problems)) : options.Security.Tls ? options.Security.LoadCertificate() : null;
        }
        catch (InvalidOperationException e)
        {
            throw new ClusterConnectionException($"cannot connect to the {target}: {e.Message}", e);
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        ClientLogging.Configure(builder, options.LogLevel);
        builder.Services.AddSingleton<IHostLifetime, QuietHostLifetime>();
        builder.UseOrleansClient(client =>
        {
            if (target.Kind == ClusterTargetKind.Redis)
            {
                client.UseRedisClustering(o =>
                {
                    o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(target.Address!);
                    if (options.Security.RedisCaCertificatePath is { Length: > 0 } ca)
                    {
                        o.ConfigurationOptions.TrustIssuer(ca);   // ssl=true to a Redis whose certificate a private CA issued
                    }
                });
            }
            else
            {
                client.UseLocalhostClustering(int.Parse(target.Address!, CultureInfo.InvariantCulture), target.ServiceId, target.ClusterId);
            }

            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = target.ClusterId;
                o.ServiceId = target.ServiceId;
            });
            client.Services.AddAgentRlExceptions();
            if (certificate is not null)
            {
                // Mutual TLS: this client's certificate, and only gateways whose certificate the options trust.
                client.UseTls(certificate, o =>
                {
                    o.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
                    o.RemoteCertificateValidation = (peer, _, _) => options.Security.Trusts(peer);
                });
            }

            var attempts = 0;
            client.UseConnectionRetryFilter(async (exception, ct) =>
            {
                // A few quick retries ride out a gateway that is still starting; then fail with the reason.
                if (++attempts > options.ConnectRetries)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            var tls = options.Security.Tls
                ? " (with TLS: is this client's certificate trusted by the silos' AgentRl:Security, and theirs by this client's?)"
                : " (if the cluster's silos set AgentRl:Security:Tls, this client needs a trusted certificate: AgentRlClientOptions.Security, or the agentrl CLI's AGENTRL_TLS_* variables)";
            throw new ClusterConnectionException($"cannot connect to the {target}: {e.GetBaseException().Message}{tls}", e);
        }

        return Over(host.Services.GetRequiredService<IClusterClient>(), async () =>
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

    /// <summary>A client over an Orleans client you host yourself; <paramref name="dispose"/> runs when it is disposed.</summary>
    public static AgentRlClient Over(IClusterClient cluster, Func<ValueTask>? dispose = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return new AgentRlClient(cluster, dispose);
    }

    /// <summary>
    /// Starts a training run in the background (it goes on without this client). The configuration, its task and the
    /// task's options are checked first, as the cluster sees them (plug-in tasks included).
    /// </summary>
    /// <exception cref="ArgumentException">The configuration, the task or an option is invalid; the message names it.</exception>
    public async Task StartRunAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrWhiteSpace(config.RunId))
        {
            throw new ArgumentException("the run needs a runId.", nameof(config));
        }

        if (await CheckAsync(config, cancellationToken) is { } problem)
        {
            throw new ArgumentException(problem, nameof(config));
        }

        await Cluster.GetGrain<ITrainingRunGrain>(config.RunId).StartAsync(config, cancellationToken);
    }

    /// <summary>
    /// Why the cluster would refuse the run, or null: the checks a run's start makes, with the cluster's registries — limits,
    /// the algorithm and its objective, trainer and branching overrides, then the task (unknown, bad options or data, a
    /// tool it lacks, no warm start when the run needs one; plug-in tasks included).
    /// </summary>
    public Task<string?> CheckAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Cluster.GetGrain<IRunConfigGrain>(0).CheckAsync(config, cancellationToken);
    }

    /// <summary>
    /// The configuration with every value the run will use: the algorithm's objective and trainer options with the
    /// overrides applied, and a branching algorithm's preset (what <c>agentrl train --print-config</c> prints).
    /// </summary>
    /// <exception cref="ArgumentException">The cluster would refuse the run (<see cref="CheckAsync"/>'s problem).</exception>
    public Task<RunConfig> ResolveAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Cluster.GetGrain<IRunConfigGrain>(0).ResolveAsync(config, cancellationToken);
    }

    /// <summary>A run's status now (from its grain).</summary>
    public Task<RunStatus> GetStatusAsync(string runId, CancellationToken cancellationToken = default) =>
        Cluster.GetGrain<ITrainingRunGrain>(runId).GetStatusAsync(cancellationToken);

    /// <summary>
    /// A run's progress as its grain pushes it (each phase, each step, the end), polled when no push comes within
    /// <paramref name="pollAfter"/> (default 2 s); the sequence ends with the run's final status.
    /// </summary>
    public async IAsyncEnumerable<RunStatus> FollowAsync(string runId, TimeSpan? pollAfter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var follower = new RunProgressFollower(Cluster, runId);
        while (true)
        {
            var status = await follower.NextAsync(pollAfter ?? TimeSpan.FromSeconds(2), cancellationToken);
            yield return status;
            if (status.IsFinished)
            {
                yield break;
            }
        }
    }

    /// <summary>Asks a run to stop after the step in flight (a warm start at its next batch); it ends <c>Stopped</c>.</summary>
    public Task StopAsync(string runId, CancellationToken cancellationToken = default) =>
        Cluster.GetGrain<ITrainingRunGrain>(runId).StopAsync(cancellationToken);

    /// <summary>
    /// Continues a run after its last checkpointed step with its saved configuration, changed by <paramref name="change"/>
    /// (e.g. <c>c =&gt; c with { Steps = 60 }</c>). Returns the configuration it started with.
    /// </summary>
    /// <exception cref="ArgumentException">The run has no saved state under <paramref name="runDir"/>.</exception>
    public async Task<RunConfig> ResumeAsync(string runId, Func<RunConfig, RunConfig>? change = null, string? runDir = null, CancellationToken cancellationToken = default)
    {
        var directory = runDir ?? DefaultRunDir;
        var saved = (await GetRunStateAsync(runId, directory, cancellationToken)
            ?? throw new ArgumentException($"run '{runId}' has no {RunStateFile.FileName} under {directory}: nothing to resume.", nameof(runId))).Config;
        var config = (change ?? (c => c))(saved) with { RunId = runId, RunDir = directory, Resume = true, SftOnly = false };
        await StartRunAsync(config, cancellationToken);
        return config;
    }

    /// <summary>The runs under a run directory (as the silos see it; default <c>runs</c>), with their state.</summary>
    public async Task<IReadOnlyList<RunSummary>> ListRunsAsync(string? runDir = null, CancellationToken cancellationToken = default)
    {
        var files = Files(runDir ?? DefaultRunDir);
        var runs = new List<RunSummary>();
        foreach (var id in await files.ListRunsAsync(cancellationToken))
        {
            runs.Add(await SummarizeAsync(files, id, cancellationToken));
        }

        return runs;
    }

    /// <summary>One run as <see cref="ListRunsAsync"/> lists it, or null when the run directory has no such run.</summary>
    public async Task<RunSummary?> GetRunAsync(string runId, string? runDir = null, CancellationToken cancellationToken = default)
    {
        var files = Files(runDir ?? DefaultRunDir);
        return RunFiles.IsRunId(runId) && await files.LocateAsync(runId, cancellationToken) is not null ? await SummarizeAsync(files, runId, cancellationToken) : null;
    }

    /// <summary>
    /// The configuration a run was started with (its <c>config.json</c>, else the one saved in <c>run_state.json</c>), read
    /// through the cluster; null when the run has neither or they are not a configuration.
    /// </summary>
    public async Task<RunConfig?> GetRunConfigAsync(string runId, string? runDir = null, CancellationToken cancellationToken = default)
    {
        var files = Files(runDir ?? DefaultRunDir);
        if (!RunFiles.IsRunId(runId))
        {
            return null;
        }

        try
        {
            if (await files.ReadTextAsync(runId, "config.json", cancellationToken) is { } config)
            {
                return JsonSerializer.Deserialize<RunConfig>(config, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            }

            return await files.ReadTextAsync(runId, "run_state.json", cancellationToken) is { } state ? RunStateFile.Parse(state)?.Config : null;
        }
        catch (JsonException)
        {
            return null;   // a damaged file: the run's other artifacts still read
        }
    }

    /// <summary>The rows of a run's <c>metrics.csv</c> (one per step), read through the cluster.</summary>
    public async Task<IReadOnlyList<MetricsRow>> GetMetricsAsync(string runId, string? runDir = null, CancellationToken cancellationToken = default) =>
        await Files(runDir ?? DefaultRunDir).ReadTextAsync(runId, RunFiles.MetricsFile, cancellationToken) is { } csv ? MetricsCsv.Parse(csv) : [];

    /// <summary>
    /// A run's <c>run_state.json</c> read through the cluster: its last checkpointed step, state, evaluations, the
    /// checkpoint of every step and its saved configuration. Null when the run directory has no such run or file.
    /// </summary>
    /// <exception cref="JsonException">The file is not a run state (damaged).</exception>
    public async Task<RunStateFile?> GetRunStateAsync(string runId, string? runDir = null, CancellationToken cancellationToken = default) =>
        RunFiles.IsRunId(runId) ? await RunStateFile.ReadAsync(Files(runDir ?? DefaultRunDir), runId, cancellationToken) : null;

    /// <summary>
    /// The trajectories a run logged (<c>trajectories/*.jsonl</c>, two sampled per step, an ARPO / AEPO step's first rollout tree that branched, whole), those of <paramref name="step"/>
    /// only when given: the step, group, tree path, gold answer, reward and its parts, finish reason, the conversation
    /// with its tool calls, and the token ids with their loss mask. A torn last line is skipped.
    /// </summary>
    public async Task<IReadOnlyList<TrajectoryRecord>> GetTrajectoriesAsync(string runId, long? step = null, string? runDir = null, CancellationToken cancellationToken = default)
    {
        var records = await TrajectoryRecord.ReadAllAsync(Files(runDir ?? DefaultRunDir), runId, cancellationToken);
        return step is null ? records : [.. records.Where(r => r.Step == step)];
    }

    /// <summary>
    /// Greedy pass@1 of a checkpoint (a Hugging Face model directory the silos can read) on a task's held-out items,
    /// as a run's Evaluate phase measures it.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown task or option.</exception>
    public async Task<EvaluationResult> EvaluateAsync(string checkpointDirectory, string task, EvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointDirectory);
        options ??= new EvaluationOptions();
        var limits = options.Limits ?? new RunConfig().Limits;
        var items = await Cluster.GetGrain<ITaskCatalogGrain>(0).GetItemsAsync(task, options.TaskOptions, eval: true, options.Items, options.Seed, cancellationToken);
        var id = Guid.NewGuid().ToString("N")[..8];
        var results = await Task.WhenAll(items.Select((item, i) =>
            Cluster.GetGrain<IEpisodeGrain>($"eval-{id}/{i}").RunAsync(
                new EpisodeSpec(PolicyDirectoryPrefix + checkpointDirectory, task, item, 1, new SamplingSettings(Temperature: 0), limits, unchecked((options.Seed * 31) + i), TaskOptions: options.TaskOptions),
                cancellationToken)));
        var trajectories = results.Select(r => r.Trajectories[0]).ToList();
        var solved = trajectories.Count(t => t.RewardParts.GetValueOrDefault("correctness") >= 1);
        return new EvaluationResult(
            task,
            solved,
            trajectories.Count,
            trajectories.Count == 0 ? 0 : trajectories.Average(t => t.Reward),
            trajectories.Count == 0 ? 0 : trajectories.Average(t => t.ToolCalls.Count),
            trajectories);
    }

    /// <summary>
    /// One tool call in a sandbox grain on the cluster, with the limits a rollout has; <paramref name="task"/> opens the
    /// sandbox for a generated item of that task (its allowed tools and knowledge base).
    /// </summary>
    public async Task<ToolObservation> CallToolAsync(string tool, string argumentsJson, string? task = null, double timeoutSeconds = 10, CancellationToken cancellationToken = default)
    {
        var itemJson = string.Empty;
        if (task is not null)
        {
            itemJson = (await Cluster.GetGrain<ITaskCatalogGrain>(0).GetItemsAsync(task, null, eval: false, 1, 0, cancellationToken))[0];
        }

        var sandbox = Cluster.GetGrain<IToolSandboxGrain>($"client/{Guid.NewGuid():N}");
        try
        {
            await sandbox.OpenAsync(new SandboxSpec(task ?? string.Empty, itemJson, MaxToolCalls: 1, CallTimeoutSeconds: timeoutSeconds), [], cancellationToken);
            return await sandbox.InvokeAsync(new ToolCall(tool, argumentsJson), cancellationToken).WaitAsync(cancellationToken);
        }
        finally
        {
            await sandbox.CloseAsync(CancellationToken.None);
        }
    }

    /// <summary>The cluster's tasks: the bundled ones and the silos' plug-ins, with their tools and option defaults.</summary>
    public Task<IReadOnlyList<CatalogTask>> ListTasksAsync(CancellationToken cancellationToken = default) =>
        Cluster.GetGrain<ITaskCatalogGrain>(0).GetTasksAsync(cancellationToken);

    /// <summary>The cluster's tool catalog, with each tool's JSON schema.</summary>
    public Task<IReadOnlyList<CatalogTool>> ListToolsAsync(CancellationToken cancellationToken = default) =>
        Cluster.GetGrain<IToolCatalogGrain>(0).GetToolsAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_dispose is not null)
        {
            await _dispose();
        }
    }

    private IRunFilesGrain Files(string runDir) => Cluster.GetGrain<IRunFilesGrain>(runDir);

    private async Task<RunSummary> SummarizeAsync(IRunFilesGrain files, string runId, CancellationToken cancellationToken)
    {
        var rows = await files.ReadTextAsync(runId, RunFiles.MetricsFile, cancellationToken) is { } csv ? MetricsCsv.Parse(csv) : [];
        var lastEval = rows.LastOrDefault(r => r.Values.ContainsKey("eval_accuracy"))?.Values["eval_accuracy"];
        var live = await GetStatusAsync(runId, cancellationToken);
        var stateText = await files.ReadTextAsync(runId, RunStateFile.FileName, cancellationToken);
        RunStateFile? state = null;
        try
        {
            state = stateText is null ? null : RunStateFile.Parse(stateText);
        }
        catch (JsonException)
        {
            // A damaged state file: metrics.csv still tells the steps.
        }

        var text = live.RunId.Length > 0 ? live.State.ToString()
            : state?.State is RunState.Completed or RunState.Stopped or RunState.Failed ? state.State.ToString()
            : stateText is null ? "Unknown"
            : "Interrupted";
        return new RunSummary(runId, text, rows.Count(r => r.Step > 0), state?.Config.Steps, lastEval, await files.LocateAsync(runId, cancellationToken) ?? runId);
    }

    /// <summary>Fails in seconds, naming the address, when nothing listens where a <c>redis://</c> address points.</summary>
    internal static async Task ProbeRedisAsync(string address, CancellationToken cancellationToken)
    {
        var (hostName, port) = ClusterTarget.RedisEndpoint(address);
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

    /// <summary>How long a client waits for Redis to accept a connection before it says it cannot reach it.</summary>
    internal static readonly TimeSpan RedisProbeTimeout = TimeSpan.FromSeconds(3);
}
