using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentRl.Grains.Policies;

/// <summary>
/// Logs where this silo's policies compute as the silo starts: the accelerator, the GPUs TorchSharp sees, and the engine
/// and trainer targets of the defaults and of each configured policy. An emulated cuda label is a warning.
/// </summary>
internal sealed class ComputeAtStart(SiloCompute compute, IOptions<PolicyHostOptions> policies, ILogger<ComputeAtStart> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ComputeAtStart), ServiceLifecycleStage.RuntimeInitialize, _ =>
        {
            if (compute.EmulatedCuda)
            {
                logger.LogWarning("EmulateCuda is on: this silo publishes agentrl.accelerator=cuda without a GPU; its trainers and engines compute on the CPU");
            }

            logger.LogInformation("Compute: accelerator {Accelerator}, {Gpus} GPU(s) seen by TorchSharp; policies by default: {Default}", compute.Accelerator, compute.CudaDevices, compute.Describe(new PolicyOptions()));
            foreach (var (id, policy) in policies.Value.Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                logger.LogInformation("Compute: policy {PolicyId}: {Targets}", id, compute.Describe(policy));
            }

            return Task.CompletedTask;
        });
}
