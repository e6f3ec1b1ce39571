using AgentRl.Abstractions.Configuration;
using AgentRl.Client;
using AgentRl.Grains.Hosting;
using AgentRl.Silo;
using Microsoft.Extensions.Configuration;

namespace AgentRl.Cluster.Tests;

public sealed class ConfigurationTests
{
    [Theory]
    [InlineData(null, ClusterTargetKind.Embedded, null)]
    [InlineData("embedded", ClusterTargetKind.Embedded, null)]
    [InlineData("redis://10.0.0.5:6380", ClusterTargetKind.Redis, "10.0.0.5:6380")]
    [InlineData("localhost", ClusterTargetKind.Localhost, "30000")]
    [InlineData("localhost:30123", ClusterTargetKind.Localhost, "30123")]
    public void ClusterTargetParse_KnownForms_GiveKindAndAddress(string? text, ClusterTargetKind kind, string? address)
    {
        var target = ClusterTarget.Parse(text);

        Assert.Equal(kind, target.Kind);
        Assert.Equal(address, target.Address);
    }

    [Theory]
    [InlineData("zk://host")]
    [InlineData("redis://")]
    [InlineData("localhost:99999")]
    public void ClusterTargetParse_UnknownForms_ThrowFormatExceptionNamingTheValue(string text)
    {
        var e = Assert.Throws<FormatException>(() => ClusterTarget.Parse(text));
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadOptions_ShortSwitches_BindToClusterAndSiloOptions()
    {
        var configuration = new ConfigurationBuilder()
            .AddCommandLine(["--clustering", "redis", "--redis", "127.0.0.1:7000", "--silo-port", "12000", "--gateway-port", "31000", "--roles", "trainer", "--accelerator", "cuda", "--emulate-cuda", "true"], AgentRlSiloHost.SwitchMappings.ToDictionary())
            .Build();

        var (cluster, silo, _) = AgentRlSiloHost.ReadOptions(configuration);

        Assert.Equal("redis", cluster.Clustering);
        Assert.Equal("127.0.0.1:7000", cluster.Redis);
        Assert.Equal(12000, cluster.SiloPort);
        Assert.Equal(31000, cluster.GatewayPort);
        Assert.Equal("trainer", silo.Roles);
        Assert.Equal("cuda", silo.Accelerator);
        Assert.True(silo.EmulateCuda);
    }

    [Fact]
    public void ReadOptions_RedisWithoutAddressAndEqualPorts_ReportsBothProblems()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AgentRl:Cluster:Clustering"] = "redis",
                ["AgentRl:Cluster:SiloPort"] = "30000",
                ["AgentRl:Cluster:GatewayPort"] = "30000",
            })
            .Build();

        var e = Assert.Throws<SiloConfigurationException>(() => AgentRlSiloHost.ReadOptions(configuration));

        Assert.Contains(e.Problems, p => p.Contains("Redis is required", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("must differ", StringComparison.Ordinal));
    }

    [Fact]
    public void ClusterOptionsValidate_KubernetesWithoutThePodsVariablesOrOnLocalhost_SaysWhatIsMissing()
    {
        var pod = new Dictionary<string, string?> { ["POD_NAME"] = "agentrl-rollout-0", ["POD_NAMESPACE"] = "default" };

        var problems = new SiloClusterOptions { Kubernetes = true }.Validate(v => pod.GetValueOrDefault(v)).ToList();

        Assert.Contains(problems, p => p.StartsWith("AgentRl:Cluster:Kubernetes needs redis or adonet clustering", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("AgentRl:Cluster:Kubernetes reads POD_IP from the pod", StringComparison.Ordinal));
        pod["POD_IP"] = "10.0.0.7";
        Assert.Empty(new SiloClusterOptions { Kubernetes = true, Clustering = "redis", Redis = "agentrl-redis:6379" }.Validate(v => pod.GetValueOrDefault(v)));
    }

    [Fact]
    public void ReadOptions_RunStoreAzureBlobWithoutAConnection_IsAProblem()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AgentRl:RunStore:Kind"] = "azure-blob" })
            .Build();

        var e = Assert.Throws<SiloConfigurationException>(() => AgentRlSiloHost.ReadOptions(configuration));

        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:RunStore:Kind azure-blob takes its connection from AgentRl:Checkpoints:ConnectionString", StringComparison.Ordinal));
    }

    [Fact]
    public void SiloOptionsValidate_BadAcceleratorAndThreads_AreReported()
    {
        var problems = new AgentRlSiloOptions { Accelerator = "tpu", TorchThreads = -1 }.Validate().ToList();

        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void ReadOptions_PolicyEngineSettings_BindAndReachTheEngineOptions()
    {
        var configuration = Memory(new()
        {
            ["AgentRl:Policies:default:MaxBatchSize"] = "32",
            ["AgentRl:Policies:default:BatchingWindow"] = "00:00:00.005",
            ["AgentRl:Policies:default:PrefixCacheEntries"] = "0",
            ["AgentRl:Policies:default:MinPrefixTokens"] = "8",
            ["AgentRl:Policies:default:IntraOpThreads"] = "2",
            ["AgentRl:Policies:default:CpuDecodeMaxBatch"] = "16",
            ["AgentRl:Policies:default:CpuDecodeThreads"] = "1",
            ["AgentRl:Policies:default:MaxSequenceLength"] = "256",
        });
        AgentRlSiloHost.ReadOptions(configuration);
        var options = new AgentRl.Grains.Policies.PolicyHostOptions();
        configuration.GetSection("AgentRl").Bind(options);

        var engine = options.For("default").EngineOptions();

        Assert.Equal(
            new AgentRl.Policy.Generation.InferenceEngineOptions
            {
                MaxBatchSize = 32,
                BatchingWindow = TimeSpan.FromMilliseconds(5),
                PrefixCacheEntries = 0,
                MinPrefixTokens = 8,
                IntraOpThreads = 2,
                CpuDecodeMaxBatch = 16,
                CpuDecodeThreads = 1,
                MaxSequenceLength = 256,
            },
            engine);
    }

    [Fact]
    public void ReadOptions_BadPolicySettings_NameTheKeyAndTheRange()
    {
        var configuration = Memory(new()
        {
            ["AgentRl:Policies:default:MaxBatchSize"] = "0",
            ["AgentRl:Policies:default:Template"] = "llama",
            ["AgentRl:Policies:other:MaxBatchSiz"] = "8",
            ["AgentRl:Policies:third:MinPrefixTokens"] = "many",
        });

        var e = Assert.Throws<SiloConfigurationException>(() => AgentRlSiloHost.ReadOptions(configuration));

        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:Policies:default:maxBatchSize = 0 is outside the allowed range [1, ∞)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:Policies:default:template = 'llama' is not one of", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:Policies:other:", StringComparison.Ordinal) && p.Contains("MaxBatchSiz", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:Policies:third:", StringComparison.Ordinal) && p.Contains("many", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadOptions_RetiredToolTimeoutKeys_AreRefusedWithTheReplacement()
    {
        var configuration = Memory(new() { ["AgentRl:Tools:CallTimeout"] = "00:00:30" });

        var e = Assert.Throws<SiloConfigurationException>(() => AgentRlSiloHost.ReadOptions(configuration));

        Assert.Contains(e.Problems, p => p.StartsWith("AgentRl:Tools:CallTimeout is no longer supported", StringComparison.Ordinal) && p.Contains("limits.toolTimeoutSeconds", StringComparison.Ordinal));
    }

    private static IConfiguration Memory(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
