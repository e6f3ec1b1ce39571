using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Configuration;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Storage;
using AgentRl.Policy.Checkpoints;
using AgentRl.Silo.Telemetry;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace AgentRl.Silo;

/// <summary>Builds an AgentRl silo host. Used by the silo program and by the client's embedded mode.</summary>
public static class AgentRlSiloHost
{
    /// <summary>Short command-line switches accepted next to the full <c>--AgentRl:Cluster:X</c> keys.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--clustering"] = "AgentRl:Cluster:Clustering",
        ["--cluster-id"] = "AgentRl:Cluster:ClusterId",
        ["--service-id"] = "AgentRl:Cluster:ServiceId",
        ["--silo-port"] = "AgentRl:Cluster:SiloPort",
        ["--gateway-port"] = "AgentRl:Cluster:GatewayPort",
        ["--advertised-ip"] = "AgentRl:Cluster:AdvertisedIp",
        ["--primary-silo-port"] = "AgentRl:Cluster:PrimarySiloPort",
        ["--redis"] = "AgentRl:Cluster:Redis",
        ["--adonet-invariant"] = "AgentRl:Cluster:AdoNetInvariant",
        ["--adonet"] = "AgentRl:Cluster:AdoNetConnectionString",
        ["--name"] = "AgentRl:Cluster:SiloName",
        ["--accelerator"] = "AgentRl:Silo:Accelerator",
        ["--emulate-cuda"] = "AgentRl:Silo:EmulateCuda",
        ["--roles"] = "AgentRl:Silo:Roles",
        ["--torch-threads"] = "AgentRl:Silo:TorchThreads",
        ["--otlp-endpoint"] = "AgentRl:Telemetry:OtlpEndpoint",
        ["--prometheus-port"] = "AgentRl:Telemetry:PrometheusPort",
        ["--dashboard-port"] = "AgentRl:Telemetry:DashboardPort",
    };

    /// <summary>Creates the host builder: appsettings.json, environment, command line; then clustering and AgentRl.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, SwitchMappings.ToDictionary());
        Configure(builder);
        return builder;
    }

    /// <summary>Reads and validates the options from <paramref name="builder"/>'s configuration and adds an AgentRl silo.</summary>
    public static void Configure(IHostApplicationBuilder builder, Action<ISiloBuilder>? configureSilo = null)
    {
        var (cluster, silo, telemetry) = ReadOptions(builder.Configuration);
        builder.UseOrleans(siloBuilder =>
        {
            ConfigureClustering(siloBuilder, cluster, Security(builder.Configuration));
            siloBuilder.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            siloBuilder.Configure<SiloOptions>(o => o.SiloName = cluster.SiloName ?? $"{Environment.MachineName}-{cluster.SiloPort}");
            siloBuilder.AddAgentRl(silo);
            siloBuilder.UseAgentRlTls(Security(builder.Configuration));
            siloBuilder.AddAgentRlTelemetry(telemetry);
            configureSilo?.Invoke(siloBuilder);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Binds <see cref="SiloClusterOptions"/>, <see cref="AgentRlSiloOptions"/> and <see cref="AgentRlTelemetryOptions"/>
    /// (strictly: a misspelt telemetry key is a problem, not an exporter silently left off) and throws one exception
    /// listing every problem.
    /// </summary>
    public static (SiloClusterOptions Cluster, AgentRlSiloOptions Silo, AgentRlTelemetryOptions Telemetry) ReadOptions(IConfiguration configuration)
    {
        var cluster = new SiloClusterOptions();
        var silo = new AgentRlSiloOptions();
        var telemetry = new AgentRlTelemetryOptions();
        var problems = new List<string>();
        try
        {
            configuration.GetSection(SiloClusterOptions.SectionName).Bind(cluster);
            configuration.GetSection(AgentRlSiloOptions.SectionName).Bind(silo);
        }
        catch (InvalidOperationException e)
        {
            // A value that does not convert (e.g. --silo-port abc) surfaces here.
            problems.Add(e.Message);
        }

        try
        {
            configuration.GetSection(AgentRlTelemetryOptions.SectionName).Bind(telemetry, o => o.ErrorOnUnknownConfiguration = true);
            problems.AddRange(telemetry.Validate());
        }
        catch (InvalidOperationException e)
        {
            problems.Add($"{AgentRlTelemetryOptions.SectionName}: {e.Message}");
        }

        try
        {
            var runStore = new RunStoreOptions();
            configuration.GetSection(RunStoreOptions.SectionName).Bind(runStore, o => o.ErrorOnUnknownConfiguration = true);
            problems.AddRange(runStore.Validate(configuration.GetSection(CheckpointStoreOptions.SectionName).Get<CheckpointStoreOptions>() ?? new CheckpointStoreOptions()));
        }
        catch (InvalidOperationException e)
        {
            problems.Add($"{RunStoreOptions.SectionName}: {e.Message}");
        }

        try
        {
            problems.AddRange(Security(configuration).Problems());
        }
        catch (InvalidOperationException e)
        {
            problems.Add($"{ClusterSecurityOptions.SectionName}: {e.Message}");
        }

        problems.AddRange(cluster.Validate());
        problems.AddRange(silo.Validate());
        problems.AddRange(ToolCatalogOptions.RetiredKeyProblems(configuration));
        problems.AddRange(PolicyProblems(configuration));
        if (!problems.Any(p => p.StartsWith(AgentRlSiloOptions.SectionName, StringComparison.Ordinal)))
        {
            problems.AddRange(ComputeProblems(configuration, silo));
        }

        problems.AddRange(CatalogProblems(configuration));
        return problems.Count > 0 ? throw new SiloConfigurationException(problems) : (cluster, silo, telemetry);
    }

    /// <summary>
    /// Binds every <c>AgentRl:Policies:{id}</c> strictly (an unknown or ill-typed key is a problem, not a silent default)
    /// and validates it; each problem names the key.
    /// </summary>
    private static IEnumerable<string> PolicyProblems(IConfiguration configuration)
    {
        foreach (var section in configuration.GetSection(PolicyHostOptions.SectionName).GetChildren())
        {
            var options = new PolicyOptions();
            string? bindError = null;
            try
            {
                section.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException e)
            {
                bindError = $"{section.Path}: {e.Message}";
            }

            if (bindError is not null)
            {
                yield return bindError;
                continue;
            }

            foreach (var problem in options.Problems())
            {
                yield return $"{section.Path}:{problem}";
            }
        }
    }

    /// <summary>
    /// A cuda accelerator, or a policy's <c>Device</c>/<c>TrainerDevice</c>, that names a GPU this machine's TorchSharp does not
    /// see: the silo stops with the reason and how to build the CUDA image, never computing on the CPU instead.
    /// </summary>
    private static IEnumerable<string> ComputeProblems(IConfiguration configuration, AgentRlSiloOptions silo)
    {
        var cudaDevices = TorchRuntime.CudaDeviceCount();
        var (accelerator, problem) = silo.ResolveAccelerator(cudaDevices);
        if (problem is not null)
        {
            return [problem];
        }

        var policies = new PolicyHostOptions();
        try
        {
            configuration.GetSection("AgentRl").Bind(policies);
        }
        catch (InvalidOperationException)
        {
            return [];   // reported by PolicyProblems, key by key
        }

        return new SiloCompute(accelerator!, cudaDevices, silo.EmulateCuda).Problems(policies.Policies).ToList();
    }

    /// <summary>
    /// Builds the tool catalog (<c>AgentRl:Tools</c>) and checks the task plug-ins (<c>AgentRl:Tasks</c>, bound strictly)
    /// against it, as the silo would on its first task: each missing assembly, type that is not a task, name taken (also by
    /// a bundled task) or tool the catalog lacks is a problem naming its key.
    /// </summary>
    private static IEnumerable<string> CatalogProblems(IConfiguration configuration)
    {
        IReadOnlyList<string>? toolNames = null;
        try
        {
            var tools = configuration.GetSection(ToolCatalogOptions.SectionName).Get<ToolCatalogOptions>() ?? new ToolCatalogOptions();
            toolNames = new ToolCatalog(tools).ToolNames;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return [$"{ToolCatalogOptions.SectionName}: {e.Message}"];
        }

        var tasks = new TaskCatalogOptions();
        try
        {
            configuration.GetSection(TaskCatalogOptions.SectionName).Bind(tasks, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            return [$"{TaskCatalogOptions.SectionName}: {e.Message}"];
        }

        return tasks.Problems(toolNames);
    }

    /// <summary><c>AgentRl:Security</c>, bound strictly (a misspelt key is a problem, not TLS silently left off).</summary>
    private static ClusterSecurityOptions Security(IConfiguration configuration)
    {
        var security = new ClusterSecurityOptions();
        configuration.GetSection(ClusterSecurityOptions.SectionName).Bind(security, o => o.ErrorOnUnknownConfiguration = true);
        return security;
    }

    private static void ConfigureClustering(ISiloBuilder silo, SiloClusterOptions options, ClusterSecurityOptions security)
    {
        // A Redis with ssl=true and a private CA: the CA is trusted for membership, grain state and reminders alike.
        StackExchange.Redis.ConfigurationOptions Redis()
        {
            var redis = StackExchange.Redis.ConfigurationOptions.Parse(options.Redis!);
            if (security.RedisCaCertificatePath is { Length: > 0 } ca)
            {
                redis.TrustIssuer(ca);
            }

            return redis;
        }

        switch (options.Clustering)
        {
            case "localhost":
                silo.UseLocalhostClustering(
                    options.SiloPort,
                    options.GatewayPort,
                    new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, options.PrimarySiloPort ?? options.SiloPort),
                    options.ServiceId,
                    options.ClusterId);
                silo.AddAgentRlInMemoryState();
                break;
            case "redis":
                silo.UseRedisClustering(o => o.ConfigurationOptions = Redis());
                silo.ConfigureEndpoints(System.Net.IPAddress.Parse(options.AdvertisedIp), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = Redis());
                silo.UseRedisReminderService(o => o.ConfigurationOptions = Redis());
                break;
            case "adonet":
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = options.AdoNetInvariant;
                    o.ConnectionString = options.AdoNetConnectionString;
                });
                silo.ConfigureEndpoints(System.Net.IPAddress.Parse(options.AdvertisedIp), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                silo.AddAdoNetGrainStorage(AgentRlStorage.Name, o =>
                {
                    o.Invariant = options.AdoNetInvariant;
                    o.ConnectionString = options.AdoNetConnectionString;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = options.AdoNetInvariant;
                    o.ConnectionString = options.AdoNetConnectionString;
                });
                break;
        }

        if (options.Kubernetes)
        {
            silo.UseKubernetesHosting();
        }
    }
}
