using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Cluster;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests;

/// <summary>Real processes: redis-server, two silo processes and the agentrl client, joined through Redis clustering.</summary>
public sealed class MultiProcessClusterTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ClusterStatus_TwoSiloProcessesOnRedis_ListsBothThenDropsTheOneStopped()
    {
        await using var redis = await RedisServer.StartAsync();
        var clusterId = "it-" + Guid.NewGuid().ToString("N")[..8];
        await using var cpuSilo = Processes.StartSilo(redis, clusterId, "rollout,tools", "cpu");
        await using var gpuSilo = Processes.StartSilo(redis, clusterId, "trainer", "cuda", extraArgs: ["--AgentRl:Policies:half:DType", "bf16"]);

        var silos = await WaitForAsync(redis, clusterId, s => s.Count(x => x.Status == "Active") == 2, "both silos active");
        var trainer = Assert.Single(silos, s => s.Metadata.GetValueOrDefault(SiloMetadataKeys.Roles) == "trainer");
        Assert.Equal("cuda", trainer.Metadata[SiloMetadataKeys.Accelerator]);
        Assert.Equal("true", trainer.Metadata[SiloMetadataKeys.EmulatedCuda]);
        Assert.Equal("engine cpu f32, trainer cpu f32", trainer.Metadata[SiloMetadataKeys.Compute]);
        Assert.Equal("engine cpu bf16, trainer cpu f32", trainer.Metadata[SiloMetadataKeys.Compute + ".half"]);
        var rollout = Assert.Single(silos, s => s.Metadata.GetValueOrDefault(SiloMetadataKeys.Roles) == "rollout,tools");
        Assert.Equal("cpu", rollout.Metadata[SiloMetadataKeys.Accelerator]);

        Processes.Terminate(gpuSilo.Process);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await gpuSilo.Process.WaitForExitAsync(cts.Token);
        }

        Assert.True(gpuSilo.Process.ExitCode == 0, $"the silo should exit 0 on SIGTERM; output:\n{gpuSilo.Output}");
        var after = await WaitForAsync(redis, clusterId, s => s.Count(x => x.Status == "Active") == 1, "one silo left");
        Assert.Equal(rollout.Address, Assert.Single(after, s => s.Status == "Active").Address);
        Assert.Contains(after, s => s.Address == trainer.Address && s.Status is "Dead" or "ShuttingDown" or "Stopping");
    }

    [Fact]
    public async Task Silo_UnreachableRedis_ExitsWithAClearErrorAndCode3()
    {
        var port = Processes.FreeTcpPort(); // nothing listens there
        var (code, _, stderr) = await Processes.RunAsync("dotnet", [Processes.SiloDll, "--clustering", "redis", "--redis", $"127.0.0.1:{port}", "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture), "--gateway-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture)], CommandTimeout);

        Assert.Equal(3, code);
        Assert.Contains("cannot reach Redis — is it running?", stderr, StringComparison.Ordinal);
        Assert.Contains("--redis", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("abortConnect", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_InvalidConfiguration_ListsEveryProblemAndExits2()
    {
        var (code, _, stderr) = await Processes.RunAsync("dotnet", [Processes.SiloDll, "--clustering", "zookeeper", "--silo-port", "70000", "--roles", "rollout,painter"], CommandTimeout);

        Assert.Equal(2, code);
        Assert.Contains("Clustering must be localhost, redis or adonet", stderr, StringComparison.Ordinal);
        Assert.Contains("SiloPort must be between 1 and 65535", stderr, StringComparison.Ordinal);
        Assert.Contains("unknown role 'painter'", stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A GPU asked for where TorchSharp sees none (this machine's CPU libtorch): the silo stops with the reason and how to
    /// build the CUDA image, for the accelerator and for a policy's engine or trainer device alike; it never computes on the
    /// CPU instead.
    /// </summary>
    [Theory]
    [InlineData("--accelerator", "cuda", "AgentRl:Silo:Accelerator is cuda, but TorchSharp sees no GPU here")]
    [InlineData("--AgentRl:Policies:default:Device", "cuda", "AgentRl:Policies:default: Device cuda names cuda:0, but TorchSharp sees no GPU here")]
    [InlineData("--AgentRl:Policies:big:TrainerDevice", "cuda:1", "AgentRl:Policies:big: TrainerDevice cuda:1 names cuda:1, but TorchSharp sees no GPU here")]
    public async Task Silo_CudaWithoutAGpu_ExitsWithTheReasonAndCode2(string key, string value, string reason)
    {
        var (code, _, stderr) = await Processes.RunAsync("dotnet", [Processes.SiloDll, key, value, "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture), "--gateway-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture)], CommandTimeout);

        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.Contains("-p:AgentRlCuda=true", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_BadTaskPlugins_ListsEveryReasonAndExits2()
    {
        var missing = Path.Combine(Path.GetTempPath(), "agentrl-no-such-" + Guid.NewGuid().ToString("N") + ".dll");
        var (code, _, stderr) = await Processes.RunAsync(
            "dotnet",
            [
                Processes.SiloDll,
                "--AgentRl:Tasks:Plugins:ghost:Type", "My.Tasks.Ghost", "--AgentRl:Tasks:Plugins:ghost:AssemblyPath", missing,
                "--AgentRl:Tasks:Plugins:host:Type", "AgentRl.Silo.AgentRlSiloHost, AgentRl.Silo",
                "--AgentRl:Tasks:Plugins:arithmetic:Type", "AgentRl.Tasks.Arithmetic.ArithmeticTask, AgentRl.Tasks",
            ],
            CommandTimeout);

        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains($"AgentRl:Tasks:Plugins:ghost: assembly '{missing}' not found", stderr, StringComparison.Ordinal);
        Assert.Contains("AgentRl:Tasks:Plugins:host: type 'AgentRl.Silo.AgentRlSiloHost' is not a concrete class implementing IAgentTask", stderr, StringComparison.Ordinal);
        Assert.Contains("AgentRl:Tasks:Plugins:arithmetic: a task named 'arithmetic' is already registered (bundled)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientClusterStatus_Embedded_ShowsTheEmbeddedSiloOnCpu()
    {
        var (code, stdout, stderr) = await Processes.RunAsync("dotnet", [Processes.ClientDll, "cluster", "status"], CommandTimeout);

        Assert.True(code == 0, stderr);
        Assert.Contains("embedded", stdout, StringComparison.Ordinal);
        Assert.Contains("agentrl.accelerator=cpu", stdout, StringComparison.Ordinal);
        Assert.Contains("Active", stdout, StringComparison.Ordinal);
        Assert.Matches(@"compute\s+\(default\)\s+engine cpu f32, trainer cpu f32", stdout);
    }

    [Fact]
    public async Task ClientClusterStatus_UnreachableRedis_ExitsWith3AndSaysWhy()
    {
        var port = Processes.FreeTcpPort();
        var (code, _, stderr) = await Processes.RunAsync("dotnet", [Processes.ClientDll, "--cluster", $"redis://127.0.0.1:{port}", "cluster", "status"], CommandTimeout);

        Assert.Equal(3, code);
        Assert.Contains($"cannot reach Redis at 127.0.0.1:{port} — is it running?", stderr, StringComparison.Ordinal);
        Assert.Contains("--cluster", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("abortConnect", stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>agentrl --cluster redis://… cluster status --json</c> until <paramref name="done"/> holds.</summary>
    private static async Task<IReadOnlyList<SiloInfo>> WaitForAsync(RedisServer redis, string clusterId, Func<IReadOnlyList<SiloInfo>, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var (code, stdout, stderr) = await Processes.RunAsync("dotnet", [Processes.ClientDll, "--cluster", $"redis://{redis.Address}", "--cluster-id", clusterId, "cluster", "status", "--json"], CommandTimeout);
            last = $"exit {code}\n{stdout}\n{stderr}";
            if (code == 0)
            {
                var silos = JsonSerializer.Deserialize<List<SiloInfo>>(stdout, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
                if (done(silos))
                {
                    return silos;
                }
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"cluster status never showed {what}; last answer: {last}");
    }
}
