using AgentRl.Abstractions.Cluster;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Storage;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Tools;
using AgentRl.Pipeline.Swarm;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.Model;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Storage;
using TorchSharp;

namespace AgentRl.Grains.Hosting;

/// <summary>The one entry point that puts AgentRl into a silo: grains, options, metadata, placement.</summary>
public static class AgentRlSiloBuilderExtensions
{
    /// <summary>
    /// Adds AgentRl to a silo: sets torch's thread count (once, before any torch work), resolves the accelerator,
    /// publishes <c>agentrl.accelerator</c>, <c>agentrl.roles</c> and <c>agentrl.allow-cpu-trainer</c> as silo metadata and registers
    /// AgentRl's services and placement filters (<see cref="RequireSiloMetadataAttribute"/>, <see cref="TrainerPlacementAttribute"/>,
    /// <see cref="PreferSiloRoleAttribute"/>).
    /// Throws <see cref="ArgumentException"/> listing every problem when the options are invalid.
    /// </summary>
    public static ISiloBuilder AddAgentRl(this ISiloBuilder builder, AgentRlSiloOptions options)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid AgentRl silo options:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        TorchRuntime.Initialize(options.TorchThreads);
        var cudaDevices = TorchRuntime.CudaDeviceCount();
        var (accelerator, acceleratorProblem) = options.ResolveAccelerator(cudaDevices);
        if (acceleratorProblem is not null)
        {
            throw new ComputeDeviceUnavailableException(acceleratorProblem);
        }

        var compute = new SiloCompute(accelerator!, cudaDevices, options.EmulateCuda);
        var metadata = new Dictionary<string, string>(options.Metadata, StringComparer.Ordinal)
        {
            [SiloMetadataKeys.Accelerator] = accelerator!,
            [SiloMetadataKeys.Roles] = string.Join(',', options.Roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)),
            [SiloMetadataKeys.AllowCpuTrainer] = options.AllowCpuTrainer ? "true" : "false",
            [SiloMetadataKeys.Compute] = compute.Describe(new PolicyOptions()),
        };
        if (options.EmulateCuda)
        {
            metadata[SiloMetadataKeys.EmulatedCuda] = "true";
        }

        // Each policy configured under AgentRl:Policies: its own targets, and a GPU this silo lacks stops the silo here.
        var configured = new PolicyHostOptions();
        builder.Configuration?.GetSection("AgentRl").Bind(configured);
        var computeProblems = compute.Problems(configured.Policies).ToList();
        if (computeProblems.Count > 0)
        {
            throw new ComputeDeviceUnavailableException(string.Join(Environment.NewLine, computeProblems));
        }

        foreach (var (id, policy) in configured.Policies.Where(p => !p.Value.Problems().Any()))
        {
            metadata[$"{SiloMetadataKeys.Compute}.{id}"] = compute.Describe(policy);
        }

        builder.UseSiloMetadata(metadata);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(compute);

        // Grain state (the run, the registry, pool shards) in Orleans' own serializer, the one that already carries the same
        // [GenerateSerializer] types between client and silos. Orleans' default JSON one writes the runtime type of every
        // interface-typed member, and reads back none of the compiler's collection-expression types: a RunConfig with its
        // default sftFlaws ("<>z__ReadOnlySingleElementList") was written to Redis and then could not be read, so a run taken
        // over a second time failed (found by ChaosTests).
        builder.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        builder.Services.AddAgentRlExceptions();

        // Warm starts, updates and evaluations are single grain calls that can run for minutes; Orleans' 30 s default
        // would time them out. Cancellation tokens stop them early where needed.
        builder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = options.CallTimeout);
        // AgentRl:Policies:{id}:… from the host's configuration, when it has one.
        builder.Services.AddOptions<PolicyHostOptions>().Configure<IServiceProvider>((o, sp) =>
            sp.GetService<IConfiguration>()?.GetSection("AgentRl").Bind(o));
        // AgentRl:Checkpoints: the silo's default Azure connection for runs that select the azure-blob store without one.
        builder.Services.AddOptions<CheckpointStoreOptions>().Configure<IServiceProvider>((o, sp) =>
            sp.GetService<IConfiguration>()?.GetSection(CheckpointStoreOptions.SectionName).Bind(o));
        // AgentRl:RunStore: where clients' reads find runs kept in the blob store rather than on this silo's disk.
        builder.Services.AddOptions<RunStoreOptions>().Configure<IServiceProvider>((o, sp) =>
            sp.GetService<IConfiguration>()?.GetSection(RunStoreOptions.SectionName).Bind(o));
        // AgentRl:Pool: the bounds of every experience pool shard this silo hosts.
        builder.Services.AddOptions<PoolLimits>().Configure<IServiceProvider>((o, sp) =>
            sp.GetService<IConfiguration>()?.GetSection(PoolLimits.SectionName).Bind(o));
        builder.Services.AddSingleton<PolicyHost>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ComputeAtStart>();
        // AgentRl:Tasks: the plug-in tasks next to the bundled ones, checked against the tool catalog.
        builder.Services.AddOptions<TaskCatalogOptions>().Configure<IServiceProvider>((o, sp) =>
            sp.GetService<IConfiguration>()?.GetSection(TaskCatalogOptions.SectionName).Bind(o));
        builder.Services.AddSingleton(sp => new TaskCatalog(sp.GetRequiredService<IOptions<TaskCatalogOptions>>().Value, sp.GetRequiredService<ToolRuntime>().Catalog));
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, TaskCatalogAtStart>();
        builder.Services.AddSingleton(sp =>
        {
            var configuration = sp.GetService<IConfiguration>();
            var catalog = configuration?.GetSection(ToolCatalogOptions.SectionName).Get<ToolCatalogOptions>() ?? new ToolCatalogOptions();
            var format = configuration?.GetSection(ToolCallFormatOptions.SectionName).Get<ToolCallFormatOptions>() ?? new ToolCallFormatOptions();
            var runtime = configuration?.GetSection("AgentRl:ToolRuntime").Get<ToolRuntimeOptions>() ?? new ToolRuntimeOptions();
            catalog.Validate();
            return new ToolRuntime(catalog, format, runtime, sp.GetRequiredService<ILoggerFactory>());
        });

        // Strategies are transient: the runtime initializes one instance per grain type from that type's manifest.
        builder.Services.AddPlacementFilter<RequiredSiloMetadataPlacementFilterStrategy, RequiredSiloMetadataPlacementFilterDirector>(ServiceLifetime.Transient);
        builder.Services.AddPlacementFilter<PreferredSiloRolePlacementFilterStrategy, PreferredSiloRolePlacementFilterDirector>(ServiceLifetime.Transient);
        return builder;
    }

    /// <summary>
    /// In-memory grain storage (<see cref="AgentRlStorage.Name"/>) and reminders: for a single embedded silo and tests. State
    /// held in memory is lost with its silo, so a cluster that must survive silo loss uses Redis or ADO.NET instead.
    /// </summary>
    public static ISiloBuilder AddAgentRlInMemoryState(this ISiloBuilder builder)
    {
        builder.AddMemoryGrainStorage(AgentRlStorage.Name);
        builder.UseInMemoryReminderService();
        return builder;
    }

    /// <inheritdoc cref="AddAgentRl(ISiloBuilder, AgentRlSiloOptions)"/>
    public static ISiloBuilder AddAgentRl(this ISiloBuilder builder, Action<AgentRlSiloOptions>? configure = null)
    {
        var options = new AgentRlSiloOptions();
        configure?.Invoke(options);
        return builder.AddAgentRl(options);
    }
}

/// <summary>
/// Process-wide torch set-up. <c>set_num_threads</c> sets the calling thread's intra-op count and the default that threads
/// which have not run torch code yet start with — so the inference engine, which binds its own thread to 1, also lowers
/// that default for every thread-pool thread after it (measured: a fresh thread reports 1 after the engine started, and
/// the trainer then ran its SFT on one core). Compute outside the engine calls <see cref="UseConfiguredThreads"/> first.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _initialized;
    private static int _threads;

    /// <summary>The configured intra-op thread count (0 before <see cref="Initialize"/>).</summary>
    public static int Threads => Volatile.Read(ref _threads);

    /// <summary>
    /// Binds the calling thread to the configured intra-op thread count (no-op before <see cref="Initialize"/> or when it
    /// already has it). Call at the start of heavy torch work on a thread-pool thread (training steps, SFT).
    /// </summary>
    public static void UseConfiguredThreads()
    {
        var threads = Threads;
        if (threads > 0 && torch.get_num_threads() != threads)
        {
            torch.set_num_threads(threads);
        }
    }

    /// <summary>Runs heavy torch work (training steps, SFT) on a thread-pool thread bound to the configured thread count.</summary>
    public static Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default) =>
        Task.Run(
            () =>
            {
                UseConfiguredThreads();
                return work();
            },
            cancellationToken);

    /// <summary>Sets torch's intra-op thread count once per process; later calls are ignored.</summary>
    public static void Initialize(int threads)
    {
        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }

            var count = threads > 0 ? threads : Environment.ProcessorCount;
            torch.set_num_threads(count);
            Volatile.Write(ref _threads, count);
            _initialized = true;
        }
    }

    /// <summary>GPUs this process's TorchSharp sees: 0 with a CPU-only libtorch or without an NVIDIA driver.</summary>
    public static int CudaDeviceCount() => torch.cuda.is_available() ? torch.cuda.device_count() : 0;
}
