namespace AgentRl.Abstractions.Cluster;

/// <summary>The silo metadata keys AgentRl reads (placement, cluster status).</summary>
public static class SiloMetadataKeys
{
    /// <summary><c>cuda</c> when the silo's TorchSharp sees a GPU, else <c>cpu</c>; overridable by configuration.</summary>
    public const string Accelerator = "agentrl.accelerator";

    /// <summary>Comma-separated roles the silo serves, e.g. <c>rollout,trainer,tools</c>.</summary>
    public const string Roles = "agentrl.roles";

    /// <summary><c>true</c> when the silo may host a trainer on CPU while no <c>cuda</c> silo is active (<c>AgentRl:Silo:AllowCpuTrainer</c>).</summary>
    public const string AllowCpuTrainer = "agentrl.allow-cpu-trainer";

    /// <summary>
    /// Where policies compute on this silo unless configured otherwise: <c>engine cuda:0 bf16, trainer cuda:0 bf16</c>.
    /// A policy configured under <c>AgentRl:Policies:{id}</c> has its own key, <c>agentrl.compute.{id}</c>.
    /// </summary>
    public const string Compute = "agentrl.compute";

    /// <summary><c>true</c> on a silo that publishes the cuda accelerator without a GPU (<c>AgentRl:Silo:EmulateCuda</c>).</summary>
    public const string EmulatedCuda = "agentrl.emulated-cuda";
}
