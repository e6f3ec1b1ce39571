using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>The whole step loop at toy scale on a two-silo cluster: warm start, RL steps, evaluation, artifacts, versions.</summary>
public sealed class TrainingRunTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-run-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task TrainingRun_ToyScale_PublishesVersionsAndWritesEveryArtifact()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools");
        var config = new RunConfig
        {
            Steps = 2,
            PromptsPerStep = 2,
            GroupSize = 3,
            SftDemonstrations = 8,
            SftEpochs = 1,
            SftFlawedFraction = 0.6,
            SftFlawPhaseDemonstrations = 1600,
            EvalSize = 4,
            EvalEvery = 1,
            PassK = 2,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 384),
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("toy");

        await run.StartAsync(config);
        var status = await WaitAsync(run);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(2, status.Step);
        Assert.NotNull(status.InitialEvalAccuracy);
        Assert.NotNull(status.WarmStartEvalAccuracy);
        Assert.NotNull(status.FinalEvalAccuracy);

        // Warm start took one SFT step per batch of 16 (here one), then each RL step one update.
        var registry = await cluster.Client.GetGrain<IPolicyRegistryGrain>("default").GetLatestAsync();
        Assert.Equal(status.PolicyVersion, registry.Version);
        Assert.True(registry.Version >= 3, $"version {registry.Version}");
        Assert.True(File.Exists(Path.Combine(registry.Location!, "model.safetensors")), registry.Location);
        Assert.True(File.Exists(Path.Combine(registry.Location!, "tokenizer.json")), registry.Location);

        var directory = Path.Combine(_runDir, "toy");
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal([0L, 1L, 2L], rows.Select(r => r.Step));

        // Two warm-start phases: 8 gold demonstrations + 8 echo examples + the redrawn copies of about a quarter of the
        // gold ones (sftRedrawResultShare), then the flaw phase (8 demonstrations, 60 % skip-tool, + 8 echo examples, no
        // redrawn copies): batches of 16 (echo and flaw phase are capped at sftDemonstrations).
        var redrawn = rows[0].Values["sft/redrawn_results"];
        Assert.InRange(redrawn, 0, 8);
        Assert.Equal(8, rows[0].Values["sft/examples"]);
        Assert.Equal(Math.Ceiling((16 + redrawn) / 16), rows[0].Values["sft/steps"]);
        Assert.Equal(8, rows[0].Values["sft/echo_examples"]);
        Assert.Equal(8, rows[0].Values["sft/flaw_phase_examples"]);
        Assert.Equal(1, rows[0].Values["sft/flaw_phase_steps"]);
        Assert.All(rows.Skip(1), r => Assert.True(r.Values.ContainsKey("reward_mean") && r.Values.ContainsKey("eval_accuracy") && r.Values.ContainsKey("loss/pg")));
        Assert.Equal(2.0, rows[^1].Values["policy_version"] - rows[1].Values["policy_version"] + 1);
        Assert.True(File.Exists(Path.Combine(directory, "training.png")));
        Assert.Single(Directory.GetFiles(directory, "events.out.tfevents.*"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(directory, "trajectories")));
        Assert.True(File.Exists(Path.Combine(directory, "config.json")));
    }

    [Fact]
    public async Task TrainingRun_InvalidConfiguration_IsRefusedWithTheProblems()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("bad");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => run.StartAsync(new RunConfig { GroupSize = 0, Temperature = -1 }));

        Assert.Contains("groupSize", e.Message, StringComparison.Ordinal);
        Assert.Contains("temperature", e.Message, StringComparison.Ordinal);
    }

    private static async Task<RunStatus> WaitAsync(ITrainingRunGrain run)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            var status = await run.GetStatusAsync();
            if (status.State is RunState.Completed or RunState.Failed or RunState.Stopped)
            {
                return status;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("the run did not finish within 5 minutes");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
