using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// One cluster and one small warm start (an <c>sft</c> run) shared by the preset tests: each starts from it with
/// <c>initFrom</c>, so every preset's run trains the same warm-started model on the same prompts.
/// </summary>
public sealed class PresetRunFixture : IAsyncLifetime
{
    public string RunDir { get; } = Path.Combine(Path.GetTempPath(), "agentrl-presets-" + Guid.NewGuid().ToString("N"));

    public AgentRlTestCluster Cluster { get; private set; } = null!;

    public string WarmStart => Path.Combine(RunDir, "warm");

    public async Task InitializeAsync()
    {
        Cluster = await AgentRlTestCluster.StartAsync(1);
        var run = Cluster.Client.GetGrain<ITrainingRunGrain>("warm");
        await run.StartAsync(new RunConfig { SftOnly = true, Steps = 0, SftDemonstrations = 48, SftEpochs = 4, EvalSize = 2, PassK = 0, RunDir = RunDir });
        var status = await TrainingRunWait.UntilFinishedAsync(run, TimeSpan.FromMinutes(5));
        Assert.True(status.State == RunState.Completed, $"warm start {status.State}: {status.Error}");
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        if (Directory.Exists(RunDir))
        {
            Directory.Delete(RunDir, recursive: true);
        }
    }
}

/// <summary>
/// Every algorithm preset at run level: a two-step toy run of the real pipeline whose metrics show the behaviour that
/// distinguishes the preset — KL in the loss or in the reward, regenerated batches, overlong penalties, the advantage
/// normalisation, the loss kind's clipping or token selection.
/// </summary>
public sealed class AlgorithmPresetRunTests(PresetRunFixture fixture) : IClassFixture<PresetRunFixture>
{
    private async Task<IReadOnlyList<IReadOnlyDictionary<string, double>>> RunAsync(string algorithm, string id, Func<RunConfig, RunConfig>? change = null)
    {
        var config = new RunConfig
        {
            Algorithm = algorithm,
            InitFrom = fixture.WarmStart,
            Steps = 2,
            PromptsPerStep = 4,
            GroupSize = 4,
            EvalSize = 2,
            EvalEvery = 10,
            PassK = 0,
            Temperature = 1.0,
            RunDir = fixture.RunDir,
            Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 48, ContextBudget: 384),
        };
        config = change?.Invoke(config) ?? config;
        var run = fixture.Cluster.Client.GetGrain<ITrainingRunGrain>(id);
        await run.StartAsync(config);
        var status = await TrainingRunWait.UntilFinishedAsync(run, TimeSpan.FromMinutes(4));
        Assert.True(status.State == RunState.Completed, $"{id}: {status.State}: {status.Error}");
        var rows = MetricsCsvWriter.Read(Path.Combine(fixture.RunDir, id, MetricsCsvWriter.FileName)).Where(r => r.Step > 0).ToList();
        Assert.Equal(2, rows.Count);
        return [.. rows.Select(r => r.Values)];
    }

    [Fact]
    public async Task Grpo_Run_TrainsWithTheKlLossAndGroupNormalisedAdvantages()
    {
        var rows = await RunAsync("grpo", "p-grpo");

        Assert.All(rows, r => Assert.True(r.ContainsKey("loss/kl") && r.ContainsKey("actor/ref_kl"), "the KL-to-reference loss term is missing"));
        var std = rows.Where(r => r.ContainsKey("train/advantage_group_std")).Select(r => r["train/advantage_group_std"]).ToList();
        Assert.NotEmpty(std);
        Assert.All(std, s => Assert.InRange(s, 0.999, 1.0));   // (r − μ)/(σ + 1e-6): unit spread within each group
    }

    [Fact]
    public async Task DrGrpo_Run_KeepsTheRawRewardSpreadAndHasNoKl()
    {
        var rows = await RunAsync("drgrpo", "p-drgrpo");

        Assert.All(rows, r => Assert.False(r.ContainsKey("loss/kl")));
        var std = rows.Where(r => r.ContainsKey("train/advantage_group_std")).Select(r => r["train/advantage_group_std"]).ToList();
        Assert.NotEmpty(std);
        Assert.All(std, s => Assert.True(s < 0.99, $"group std {s}: Dr.GRPO does not divide by the group std"));
    }

    [Fact]
    public async Task Rloo_Run_AppliesKlToTheReferenceInTheReward()
    {
        var rows = await RunAsync("rloo", "p-rloo");

        Assert.All(rows, r => Assert.Equal(0.001, r["reward/kl_coef"]));
        Assert.All(rows, r => Assert.False(r.ContainsKey("loss/kl")));

        // Step 2 samples from weights one update away from the reference: the penalty is no longer 0.
        Assert.NotEqual(0.0, rows[1]["reward/kl_penalty"]);
        Assert.NotEqual(0.0, rows[1]["reward/kl"]);
    }

    [Fact]
    public async Task ReinforcePlusPlus_Run_WhitensAdvantagesOverTheBatchTokens()
    {
        var rows = await RunAsync("reinforce++", "p-rpp");

        Assert.All(rows, r => Assert.True(r.ContainsKey("loss/kl")));
        Assert.All(rows, r => Assert.InRange(r["train/advantage_token_mean"], -1e-4, 1e-4));
    }

    [Fact]
    public async Task Dapo_GreedyGroups_AreDroppedAndRegeneratedUpToTheLimitThenTheStepIsSkipped()
    {
        // Greedy rollouts make every member of a group identical: no group has reward spread.
        var rows = await RunAsync("dapo", "p-dapo-greedy", c => c with { Temperature = 0, Objective = new() { ["maxNumGenBatches"] = "3" } });

        Assert.All(rows, r =>
        {
            Assert.Equal(3, r["dapo/generation_batches"]);
            Assert.Equal(0, r["dapo/kept_groups"]);
            Assert.Equal(12, r["dapo/dropped_groups"]);
            Assert.Equal(1, r["train/skipped"]);
        });
    }

    [Fact]
    public async Task Dapo_Run_PenalisesLongResponsesAndCountsKeptGroups()
    {
        // A buffer as long as the whole response budget: every token of a response costs 1/L_max of reward.
        var rows = await RunAsync("dapo", "p-dapo", c => c with { Objective = new() { ["overlongBufferLength"] = "100000" } });

        Assert.All(rows, r => Assert.True(r["reward/overlong_penalty"] < 0, $"overlong penalty {r["reward/overlong_penalty"]}"));
        Assert.All(rows, r => Assert.InRange(r["dapo/kept_groups"], 0, 4));
        Assert.All(rows, r => Assert.True(r["dapo/generation_batches"] >= 1));
        Assert.All(rows, r => Assert.Equal(r["dapo/kept_groups"] * 4, r["train/examples"]));
    }

    [Fact]
    public async Task Gspo_TwoEpochs_ClipsWholeSequencesAtItsTinyRange()
    {
        var rows = await RunAsync("gspo", "p-gspo", c => c with { Trainer = new() { ["ppoEpochs"] = "2" } });

        // After one update every sequence ratio leaves [1 − 3e-4, 1 + 4e-4]; the second epoch clips most tokens.
        Assert.All(rows, r => Assert.True(r["loss/pg_clipfrac"] > 0.05, $"clip fraction {r["loss/pg_clipfrac"]}"));
    }

    [Fact]
    public async Task ClipCov_WideBounds_DetachesTheRequestedShareOfTokens()
    {
        var rows = await RunAsync("clip-cov", "p-clipcov", c => c with
        {
            Objective = new() { ["clipCovRatio"] = "0.5", ["clipCovLowerBound"] = "-1e9", ["clipCovUpperBound"] = "1e9", ["filterGroups"] = "false" },
        });

        Assert.All(rows, r => Assert.InRange(r["loss/pg_clipfrac"], 0.3, 0.6));
    }

    [Fact]
    public async Task KlCov_TwoEpochs_PenalisesTheSelectedTokensLogRatio()
    {
        var rows = await RunAsync("kl-cov", "p-klcov", c => c with
        {
            Objective = new() { ["klCovRatio"] = "0.5", ["filterGroups"] = "false" },
            Trainer = new() { ["ppoEpochs"] = "2" },
        });

        Assert.All(rows, r => Assert.True(r["loss/ppo_kl"] > 0, $"ppo_kl {r["loss/ppo_kl"]}"));
    }
}
