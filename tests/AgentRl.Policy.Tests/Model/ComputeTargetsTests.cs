using AgentRl.Policy.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Model;

public sealed class ComputeTargetsTests
{
    /// <summary>
    /// Every setting on every kind of silo: (device, dtype, silo accelerator, GPUs TorchSharp sees, emulated cuda label)
    /// → the resolved target, or null where it must be refused.
    /// </summary>
    public static TheoryData<string, string, string, int, bool, string?> Cases => new()
    {
        // auto follows the silo: cuda:0 in bf16 on a GPU silo, the CPU in f32 elsewhere.
        { "auto", "auto", "cuda", 1, false, "cuda:0 bf16" },
        { "auto", "auto", "cpu", 0, false, "cpu f32" },
        { "auto", "auto", "cpu", 2, false, "cpu f32" },
        { "auto", "f32", "cuda", 1, false, "cuda:0 f32" },
        { "auto", "f16", "cuda", 1, false, "cuda:0 f16" },
        { "auto", "bf16", "cpu", 0, false, "cpu bf16" },
        // A cuda label without a GPU: refused, unless the silo only emulates the label, where auto stays on the CPU.
        { "auto", "auto", "cuda", 0, false, null },
        { "auto", "auto", "cuda", 0, true, "cpu f32" },
        { "cuda", "auto", "cuda", 0, true, null },
        // Explicit devices.
        { "cpu", "auto", "cuda", 1, false, "cpu f32" },
        { "cpu", "bf16", "cuda", 1, false, "cpu bf16" },
        { "cuda", "auto", "cpu", 1, false, "cuda:0 bf16" },
        { "cuda", "f32", "cuda", 1, false, "cuda:0 f32" },
        { "cuda:1", "auto", "cuda", 2, false, "cuda:1 bf16" },
        { "cuda:1", "auto", "cuda", 1, false, null },
        { "cuda", "auto", "cpu", 0, false, null },
        { "cuda:0", "f16", "cpu", 0, false, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolve_EveryCombination(string device, string dtype, string accelerator, int gpus, bool emulated, string? expected)
    {
        if (expected is null)
        {
            var error = Assert.Throws<ComputeDeviceUnavailableException>(() => ComputeTargets.Resolve(device, dtype, accelerator, gpus, emulated));
            Assert.Contains("-p:AgentRlCuda=true", error.Message);
            Assert.Contains(gpus == 0 ? "sees no GPU" : $"sees {gpus} GPU(s)", error.Message);
            return;
        }

        var target = ComputeTargets.Resolve(device, dtype, accelerator, gpus, emulated);
        Assert.Equal(expected, target.ToString());
        Assert.Equal(target.DeviceType == DeviceType.CUDA ? DeviceType.CUDA : DeviceType.CPU, target.Device.type);
        Assert.Equal(target.DType != ScalarType.Float32, target.IsReducedPrecision);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("CUDA")]
    [InlineData("")]
    public void BadDevice_IsAProblemThatNamesTheForms(string device)
    {
        Assert.Contains("auto, cpu, cuda, cuda:N", ComputeTargets.DeviceProblem(device));
        Assert.Throws<ArgumentException>(() => ComputeTargets.Resolve(device, "auto", "cpu", 0));
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("bfloat16")]
    [InlineData("")]
    public void BadDType_IsAProblemThatNamesTheNames(string dtype)
    {
        Assert.Contains("auto, f32, bf16, f16", ComputeTargets.DTypeProblem(dtype));
        Assert.Throws<ArgumentException>(() => ComputeTargets.Resolve("cpu", dtype, "cpu", 0));
    }

    [Fact]
    public void GoodSettings_HaveNoProblem()
    {
        foreach (var device in new[] { "auto", "cpu", "cuda", "cuda:0", "cuda:7" })
        {
            Assert.Null(ComputeTargets.DeviceProblem(device));
        }

        foreach (var dtype in ComputeTargets.DTypeNames)
        {
            Assert.Null(ComputeTargets.DTypeProblem(dtype));
        }
    }

    [Fact]
    public void CopyTo_ConvertsEveryWeight_AndLeavesTheSourceAlone()
    {
        using var f32 = TestModels.Create();
        using var bf16 = f32.CopyTo(new ComputeTarget(DeviceType.CPU, -1, ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        Assert.True(bf16.IsOn(new ComputeTarget(DeviceType.CPU, -1, ScalarType.BFloat16)));
        Assert.False(bf16.IsOn(ComputeTarget.Cpu));
        var source = f32.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in bf16.named_parameters())
        {
            Assert.Equal(ScalarType.BFloat16, parameter.dtype);
            Assert.Equal(ScalarType.Float32, source[name].dtype);
            using var rounded = source[name].to_type(ScalarType.BFloat16);
            Assert.True(rounded.eq(parameter).all().item<bool>(), $"{name} is not the bf16 rounding of the source");
        }

        using var ids = tensor(TestModels.RandomTokens(10, TestModels.Micro.VocabSize, 3), [1, 10]);
        using var expected = f32.forward(ids);
        using var actual = bf16.forward(ids).to_type(ScalarType.Float32);
        Assert.True(expected.allclose(actual, rtol: 0.05, atol: 0.05), "the bf16 copy computes something else");
    }
}
