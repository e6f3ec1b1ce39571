using AgentRl.Policy.Model;

namespace AgentRl.Grains.Policies;

/// <summary>
/// What this silo computes on: its published accelerator, the GPUs its TorchSharp sees, and whether the cuda label is only
/// emulated. Resolves a policy's <c>Device</c>/<c>DType</c> (engine) and <c>TrainerDevice</c>/<c>TrainerDType</c> settings
/// to targets (<see cref="ComputeTargets.Resolve"/>).
/// </summary>
/// <param name="Accelerator"><c>cpu</c> or <c>cuda</c>, as published in <c>agentrl.accelerator</c>.</param>
/// <param name="CudaDevices">GPUs TorchSharp sees (0 with a CPU-only libtorch).</param>
/// <param name="EmulatedCuda">The cuda label is emulated (<c>AgentRl:Silo:EmulateCuda</c>): <c>auto</c> stays on the CPU.</param>
public sealed record SiloCompute(string Accelerator, int CudaDevices, bool EmulatedCuda)
{
    /// <summary>A CPU silo without a GPU: what a host that registers no <see cref="SiloCompute"/> gets.</summary>
    public static SiloCompute Cpu { get; } = new("cpu", 0, false);

    /// <summary>Where <paramref name="policy"/>'s inference engine computes on this silo.</summary>
    /// <exception cref="ComputeDeviceUnavailableException">It names a GPU this silo does not have.</exception>
    public ComputeTarget Engine(PolicyOptions policy) => ComputeTargets.Resolve(policy.Device, policy.DType, Accelerator, CudaDevices, EmulatedCuda);

    /// <summary>Where <paramref name="policy"/>'s trainer computes on this silo.</summary>
    /// <exception cref="ComputeDeviceUnavailableException">It names a GPU this silo does not have.</exception>
    public ComputeTarget Trainer(PolicyOptions policy) => ComputeTargets.Resolve(policy.TrainerDevice, policy.TrainerDType, Accelerator, CudaDevices, EmulatedCuda, nameof(PolicyOptions.TrainerDevice));

    /// <summary><c>engine cuda:0 bf16, trainer cuda:0 bf16</c>: the silo metadata value of <c>agentrl.compute</c>.</summary>
    public string Describe(PolicyOptions policy) => $"engine {Engine(policy)}, trainer {Trainer(policy)}";

    /// <summary>
    /// Each configured policy that names a GPU this silo does not have, as "AgentRl:Policies:{id}: reason". Settings that are
    /// not valid at all are <see cref="PolicyOptions.Problems"/>' to report.
    /// </summary>
    public IEnumerable<string> Problems(IReadOnlyDictionary<string, PolicyOptions> policies)
    {
        foreach (var (id, policy) in policies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (policy.Problems().Any())
            {
                continue;
            }

            string? problem = null;
            try
            {
                Describe(policy);
            }
            catch (ComputeDeviceUnavailableException e)
            {
                problem = $"{PolicyHostOptions.SectionName}:{id}: {e.Message}";
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }
    }
}
