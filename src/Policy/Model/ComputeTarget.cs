using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>Where a model computes and in which floating-point type: <c>cuda:0 bf16</c>, <c>cpu f32</c>.</summary>
/// <param name="DeviceType">CPU or CUDA.</param>
/// <param name="DeviceIndex">The CUDA ordinal; −1 for the CPU.</param>
/// <param name="DType">The compute dtype of the weights and activations.</param>
public sealed record ComputeTarget(DeviceType DeviceType, int DeviceIndex, ScalarType DType)
{
    /// <summary>The CPU in f32: what every model used before devices were configurable, and the default without a GPU.</summary>
    public static ComputeTarget Cpu { get; } = new(DeviceType.CPU, -1, ScalarType.Float32);

    /// <summary>The TorchSharp device.</summary>
    public Device Device => DeviceType == DeviceType.CUDA ? new Device(DeviceType.CUDA, DeviceIndex) : CPU;

    /// <summary>Whether the dtype is below f32, so a trainer keeps f32 master weights beside the compute weights.</summary>
    public bool IsReducedPrecision => DType != ScalarType.Float32;

    /// <summary><c>cpu</c> or <c>cuda:N</c>.</summary>
    public string DeviceName => DeviceType == DeviceType.CUDA ? $"cuda:{DeviceIndex.ToString(CultureInfo.InvariantCulture)}" : "cpu";

    /// <summary><c>f32</c>, <c>bf16</c> or <c>f16</c>.</summary>
    public string DTypeName => ComputeTargets.DTypeName(DType);

    /// <summary><c>cuda:0 bf16</c>.</summary>
    public override string ToString() => $"{DeviceName} {DTypeName}";
}

/// <summary>
/// Resolves the <c>Device</c> and <c>DType</c> settings of a policy or trainer on a given silo. Pure: the silo's accelerator
/// and the number of GPUs TorchSharp sees are arguments, so every combination is testable without a GPU.
/// <list type="bullet">
/// <item><c>Device</c>: <c>auto</c> (cuda:0 on a silo whose accelerator is cuda, else cpu), <c>cpu</c>, <c>cuda</c> (= cuda:0) or <c>cuda:N</c>.</item>
/// <item><c>DType</c>: <c>auto</c> (bf16 on cuda, f32 on cpu), <c>f32</c>, <c>bf16</c> or <c>f16</c>.</item>
/// </list>
/// A CUDA device TorchSharp cannot see is an error, never a silent fall back to the CPU.
/// </summary>
public static class ComputeTargets
{
    public const string Auto = "auto";

    /// <summary>The accepted forms of a device setting (<c>cuda:N</c> stands for any ordinal).</summary>
    public static readonly string[] DeviceForms = [Auto, "cpu", "cuda", "cuda:N"];

    /// <summary>The accepted dtype settings.</summary>
    public static readonly string[] DTypeNames = [Auto, "f32", "bf16", "f16"];

    /// <summary>What to do when a CUDA device is named on a machine whose TorchSharp sees none.</summary>
    public const string CudaBuildHint =
        "build the silo with the CUDA libtorch (dotnet publish src/Silo -c Release -p:AgentRlCuda=true) and run it where the NVIDIA driver sees a GPU (nvidia-smi)";

    /// <summary>Null when <paramref name="device"/> is a valid setting, else why not.</summary>
    public static string? DeviceProblem(string? device) =>
        TryParseDevice(device, out _, out _) ? null : $"'{device}' is not one of {string.Join(", ", DeviceForms)}";

    /// <summary>Null when <paramref name="dtype"/> is a valid setting, else why not.</summary>
    public static string? DTypeProblem(string? dtype) =>
        dtype is not null && DTypeNames.Contains(dtype, StringComparer.Ordinal) ? null : $"'{dtype}' is not one of {string.Join(", ", DTypeNames)}";

    /// <summary>
    /// The device and dtype that <paramref name="device"/> and <paramref name="dtype"/> name on a silo whose accelerator is
    /// <paramref name="siloAccelerator"/> (<c>cpu</c> or <c>cuda</c>) and whose TorchSharp sees <paramref name="cudaDevices"/> GPUs.
    /// </summary>
    /// <param name="device">The <c>Device</c> setting.</param>
    /// <param name="dtype">The <c>DType</c> setting.</param>
    /// <param name="siloAccelerator">The silo's resolved <c>agentrl.accelerator</c>: <c>cpu</c> or <c>cuda</c>.</param>
    /// <param name="cudaDevices">GPUs this process's TorchSharp sees (<c>torch.cuda.device_count()</c>; 0 with a CPU libtorch).</param>
    /// <param name="computeOnCpu">
    /// The silo only emulates its cuda label (<c>AgentRl:Silo:EmulateCuda</c>): <c>auto</c> resolves to the CPU there, while an
    /// explicit cuda device is still an error.
    /// </param>
    /// <exception cref="ArgumentException">A setting is not one of the accepted forms.</exception>
    /// <exception cref="ComputeDeviceUnavailableException">A CUDA device is named (or implied) that TorchSharp does not see.</exception>
    /// <param name="settingName">The setting's name in messages: <c>Device</c>, or <c>TrainerDevice</c> for a trainer.</param>
    public static ComputeTarget Resolve(string device, string dtype, string siloAccelerator, int cudaDevices, bool computeOnCpu = false, string settingName = "Device")
    {
        if (!TryParseDevice(device, out var type, out var index))
        {
            throw new ArgumentException($"Device {DeviceProblem(device)}.", nameof(device));
        }

        if (DTypeProblem(dtype) is { } dtypeProblem)
        {
            throw new ArgumentException($"DType {dtypeProblem}.", nameof(dtype));
        }

        if (device == Auto)
        {
            var cuda = siloAccelerator == "cuda" && !computeOnCpu;
            (type, index) = cuda ? (DeviceType.CUDA, 0) : (DeviceType.CPU, -1);
        }

        if (type == DeviceType.CUDA && index >= cudaDevices)
        {
            var seen = cudaDevices == 0
                ? "TorchSharp sees no GPU here (a CPU-only libtorch, or no NVIDIA driver)"
                : $"TorchSharp sees {cudaDevices.ToString(CultureInfo.InvariantCulture)} GPU(s), cuda:0 to cuda:{(cudaDevices - 1).ToString(CultureInfo.InvariantCulture)}";
            var named = device == Auto ? $"{settingName} auto means cuda:{index} on a silo whose accelerator is cuda" : $"{settingName} {device} names cuda:{index}";
            throw new ComputeDeviceUnavailableException($"{named}, but {seen}: {CudaBuildHint}; or set {settingName} cpu.");
        }

        var scalar = dtype switch
        {
            "f32" => ScalarType.Float32,
            "bf16" => ScalarType.BFloat16,
            "f16" => ScalarType.Float16,
            _ => type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        return new ComputeTarget(type, type == DeviceType.CUDA ? index : -1, scalar);
    }

    /// <summary><c>f32</c>, <c>bf16</c>, <c>f16</c>, or torch's own name of any other dtype.</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "f32",
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "f16",
        _ => dtype.ToString().ToLowerInvariant(),
    };

    private static bool TryParseDevice(string? device, out DeviceType type, out int index)
    {
        (type, index) = (DeviceType.CPU, -1);
        switch (device)
        {
            case Auto or "cpu":
                return true;
            case "cuda":
                (type, index) = (DeviceType.CUDA, 0);
                return true;
            case not null when device.StartsWith("cuda:", StringComparison.Ordinal)
                && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal):
                (type, index) = (DeviceType.CUDA, ordinal);
                return true;
            default:
                return false;
        }
    }
}

/// <summary>A configuration names a CUDA device that this process's TorchSharp cannot use. The message says how to get one.</summary>
public sealed class ComputeDeviceUnavailableException(string message) : Exception(message);
