namespace AgentRl.Grains.Hosting;

/// <summary>What a silo tells the cluster about itself, and how it runs torch. Section <c>AgentRl:Silo</c>.</summary>
public sealed class AgentRlSiloOptions
{
    public const string SectionName = "AgentRl:Silo";

    /// <summary><c>auto</c> (default: <c>cuda</c> when TorchSharp sees a GPU, else <c>cpu</c>), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Accelerator { get; set; } = "auto";

    /// <summary>
    /// Publishes <c>agentrl.accelerator=cuda</c> on a machine without a GPU, and computes on the CPU: for rehearsing a GPU
    /// cluster's placement on CPU machines and for tests. Needs <see cref="Accelerator"/> <c>cuda</c>; a policy whose
    /// <c>Device</c> names cuda explicitly is still refused. Default <c>false</c>: a cuda accelerator without a GPU stops the
    /// silo at start. Logged as a warning, and published as <c>agentrl.emulated-cuda=true</c>.
    /// </summary>
    public bool EmulateCuda { get; set; }

    /// <summary>Comma-separated roles this silo serves. Default <c>rollout,trainer,tools</c> (an all-in-one silo).</summary>
    public string Roles { get; set; } = "rollout,trainer,tools";

    /// <summary>
    /// Whether this silo may host a trainer on CPU while no <c>cuda</c> silo is active (it also needs the <c>trainer</c> role).
    /// Default <c>false</c>: cluster silos fail closed, so a run never trains on CPU by accident. The client's embedded
    /// silo sets it to <c>true</c>. A run can also allow it for its own trainer (run config <c>allowCpuTraining</c>,
    /// carried by <see cref="Placement.PlacementRequestContext.AllowCpuTrainer"/>).
    /// </summary>
    public bool AllowCpuTrainer { get; set; }

    /// <summary>Torch intra-op threads, set once at start-up before any torch work. 0 (default) = the number of cores.</summary>
    public int TorchThreads { get; set; }

    /// <summary>How long a grain call may run before Orleans fails it (warm start and updates are long calls). Default 30 minutes.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Period of the keep-alive reminder a training run holds while it goes. When the run's silo is lost, the next tick
    /// (after the cluster declares that silo dead) activates the run on another silo, which resumes it from its last
    /// checkpoint. Default 1 minute (Orleans' minimum reminder period, <c>ReminderOptions.MinimumReminderPeriod</c>).
    /// </summary>
    public TimeSpan RunReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a run's progress subscription (<c>ITrainingRunGrain.SubscribeAsync</c>) lasts without renewal. Default 60 s;
    /// clients renew every 20 s.
    /// </summary>
    public TimeSpan ProgressSubscriptionLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Extra metadata published with the silo (in addition to <c>Orleans:Metadata</c>).</summary>
    public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.Ordinal);

    public static readonly string[] KnownRoles = ["rollout", "trainer", "tools"];

    /// <summary>
    /// The accelerator this silo publishes (<c>cpu</c> or <c>cuda</c>) on a machine whose TorchSharp sees
    /// <paramref name="cudaDevices"/> GPUs, or the reason it cannot: a cuda accelerator needs a GPU, or <see cref="EmulateCuda"/>.
    /// </summary>
    public (string? Accelerator, string? Problem) ResolveAccelerator(int cudaDevices)
    {
        var resolved = Accelerator switch
        {
            "cpu" or "cuda" => Accelerator,
            _ => EmulateCuda ? "cuda" : cudaDevices > 0 ? "cuda" : "cpu",
        };
        if (EmulateCuda && Accelerator == "cpu")
        {
            return (null, $"{SectionName}:EmulateCuda is true but Accelerator is cpu; emulating the cuda label needs Accelerator cuda (or auto).");
        }

        if (resolved == "cuda" && cudaDevices == 0 && !EmulateCuda)
        {
            return (null, $"{SectionName}:Accelerator is cuda, but TorchSharp sees no GPU here (a CPU-only libtorch, or no NVIDIA driver): "
                + $"{Policy.Model.ComputeTargets.CudaBuildHint}. To rehearse a GPU cluster's placement on CPU machines, set {SectionName}:EmulateCuda true.");
        }

        return (resolved, null);
    }

    /// <summary>Returns every problem with these options, or none.</summary>
    public IEnumerable<string> Validate()
    {
        if (Accelerator is not ("auto" or "cpu" or "cuda"))
        {
            yield return $"{SectionName}:Accelerator must be auto, cpu or cuda (got '{Accelerator}').";
        }

        foreach (var role in Roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!KnownRoles.Contains(role))
            {
                yield return $"{SectionName}:Roles has unknown role '{role}'; known roles: {string.Join(", ", KnownRoles)}.";
            }
        }

        if (RunReminderPeriod <= TimeSpan.Zero)
        {
            yield return $"{SectionName}:RunReminderPeriod must be positive (got {RunReminderPeriod}).";
        }

        if (ProgressSubscriptionLifetime <= TimeSpan.Zero)
        {
            yield return $"{SectionName}:ProgressSubscriptionLifetime must be positive (got {ProgressSubscriptionLifetime}).";
        }

        if (TorchThreads < 0)
        {
            yield return $"{SectionName}:TorchThreads must be 0 (all cores) or positive (got {TorchThreads}).";
        }
    }
}
