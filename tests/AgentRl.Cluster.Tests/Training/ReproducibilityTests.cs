using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Reporting;
using Microsoft.Extensions.DependencyInjection;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// The same seed gives the same run under any load: a seeded short ARPO run (warm start, rollout trees that branch on
/// entropy, updates, evaluation) done once on its own and once beside a process that keeps a core busy, with another
/// batching window, another decode thread count and a batch limit that queues requests, writes byte-identical
/// <c>metrics.csv</c> and trajectory samples and the same checkpoint and trainer-state hashes.
/// </summary>
public sealed class ReproducibilityTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-repro-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task SeededRun_PlainAndUnderLoadWithOtherBatching_IsByteIdentical()
    {
        var plain = await RunAsync("plain", new PolicyOptions { BatchingWindow = TimeSpan.Zero, CpuDecodeThreads = 1 });
        string loaded;
        await using (var burner = new OwnedProcess("cpu-burner", "/bin/sh", ["-c", "while :; do :; done"]))
        {
            loaded = await RunAsync("loaded", new PolicyOptions { BatchingWindow = TimeSpan.FromMilliseconds(25), CpuDecodeThreads = 2, MaxBatchSize = 7 });
            Assert.False(burner.Process.HasExited, "the CPU burner should run for the whole second run");
        }

        var metrics = File.ReadAllBytes(Path.Combine(plain, MetricsCsvWriter.FileName));
        Assert.True(MetricsCsvWriter.Read(Path.Combine(plain, MetricsCsvWriter.FileName)).Count(r => r.Step > 0) == 2, "both RL steps recorded");
        Assert.Equal(metrics, File.ReadAllBytes(Path.Combine(loaded, MetricsCsvWriter.FileName)));
        Assert.Empty(RunDiff.Compare(plain, loaded));
        Assert.Equal(RunDiff.Sha256(Path.Combine(plain, "trainer", "model", "model.safetensors")), RunDiff.Sha256(Path.Combine(loaded, "trainer", "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(loaded, RunArtifacts.TimingsFileName)), "the wall-clock metrics go to timings.csv");
    }

    private async Task<string> RunAsync(string name, PolicyOptions policy)
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, configureBuilder: silo =>
            silo.Services.Configure<PolicyHostOptions>(o => o.Policies["default"] = policy));
        var config = new RunConfig
        {
            Algorithm = "arpo",
            Seed = 11,
            Steps = 2,
            PromptsPerStep = 4,
            GroupSize = 4,
            SftDemonstrations = 400,
            Baseline = RunConfig.Baselines.None,   // time-budgeted: its weights depend on the machine's speed
            SftEchoExamples = 400,
            SftFlawPhaseDemonstrations = 100,
            EvalSize = 8,
            PassK = 0,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 64, ContextBudget: 320, MaxToolCalls: 2),
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(name);
        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.State is RunState.Completed or RunState.Failed or RunState.Stopped, minutes: 10);
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
