using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Policy.HuggingFace;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// A trainer configured for bf16 (as a GPU silo's would be by default) beside f32 engines on another silo: the run goes,
/// the trainer computes in bf16 (its weights differ from the f32 trainer's on the same seed, where f32 runs are
/// byte-identical), and what reaches the engines through the checkpoint store is the f32 master weights.
/// </summary>
public sealed class MixedPrecisionRunTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-bf16-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Bf16Trainer_F32Engines_TrainAndHandOffTheMasterWeights()
    {
        var f32 = await RunAsync("f32", "f32");
        var bf16 = await RunAsync("bf16", "bf16");

        foreach (var run in new[] { f32, bf16 })
        {
            Assert.Equal(2, MetricsCsvWriter.Read(Path.Combine(run, MetricsCsvWriter.FileName)).Count(r => r.Step > 0));
            Assert.All(HfCheckpoint.Inspect(Path.Combine(run, "trainer", "model")), t => Assert.Equal(SafetensorsDtype.F32, t.Dtype));
        }

        // The newest checkpoint engines load is the trainer's own (master) weights, in f32.
        var newest = Directory.GetDirectories(Path.Combine(bf16, "checkpoints")).Order(StringComparer.Ordinal).Last();
        Assert.All(HfCheckpoint.Inspect(newest), t => Assert.Equal(SafetensorsDtype.F32, t.Dtype));
        Assert.Equal(RunDiff.Sha256(Path.Combine(bf16, "trainer", "model", "model.safetensors")), RunDiff.Sha256(Path.Combine(newest, "model.safetensors")));

        // bf16 compute changed the updates: the same seed in f32 gives other weights.
        Assert.NotEqual(RunDiff.Sha256(Path.Combine(f32, "trainer", "model", "model.safetensors")), RunDiff.Sha256(Path.Combine(bf16, "trainer", "model", "model.safetensors")));
    }

    private async Task<string> RunAsync(string name, string trainerDType)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(
            2,
            configureSilo: (index, o) => o.Roles = index == 0 ? "trainer" : "rollout,tools",
            configuration: new Dictionary<string, string?> { ["AgentRl:Policies:default:TrainerDType"] = trainerDType });
        var silos = await cluster.Client.GetGrain<IClusterInfoGrain>(0).GetSilosAsync();
        Assert.All(silos, s => Assert.Equal($"engine cpu f32, trainer cpu {trainerDType}", s.Metadata[SiloMetadataKeys.Compute + ".default"]));

        var config = ToyRuns.Config(_runDir, steps: 2) with { Seed = 5, AllowCpuTraining = true };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(name);
        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.State is RunState.Completed or RunState.Failed or RunState.Stopped, minutes: 5);
        Assert.True(status.State == RunState.Completed, $"{name}: {status.State}: {status.Error}");
        return Path.Combine(_runDir, name);
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
