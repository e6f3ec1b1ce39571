using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Swarm;

/// <summary>
/// KL in the reward in a swarm: a step's own, fill and external trajectories are shaped with the same β, and the adaptive
/// controller moves once per step, over all of them, as it does in a run without a pool.
/// </summary>
public sealed class SwarmRewardKlTests : IDisposable
{
    private const int Steps = 3;
    private const double Beta = 0.1;
    private const double Horizon = 20;

    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-swarm-kl-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// With a target KL far above any the toy policy reaches, every update has the clipped error −0.2, so one update per
    /// step multiplies β by 1 − 0.2·n/horizon with n = (I + J)·groupSize trajectories (0.96 here); two updates on the
    /// step's parts (own 2, external or fill 2) would multiply it by 0.98² = 0.9604.
    /// </summary>
    [Fact]
    public async Task AdaptiveKlInReward_SwarmStep_UpdatesTheControllerOnce_OverOwnAndExternalTrajectories()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (_, o) =>
        {
            o.Roles = "rollout,tools,trainer";
            o.AllowCpuTrainer = true;
        });
        string[] sets =
        [
            "groupSize=2", "sftDemonstrations=0", "evalSize=2", "evalEvery=100", "passK=0", "baseline=none",
            "limits.maxTurns=2", "limits.maxNewTokensPerTurn=16", "swarm.share=all", "swarm.select=uniform",
            "objective.useKlInReward=true", "objective.klCtrlAdaptive=true", FormattableString.Invariant($"objective.klCtrlCoef={Beta}"),
            "objective.klCtrlTarget=1000", FormattableString.Invariant($"objective.klCtrlHorizon={Horizon}"),
        ];
        var plan = SwarmCommands.Plan(null, 2, 1, 1, Steps, "arithmetic", "kl", _runDir, sets, CompareCommands.SharedWarmStart);
        var output = new StringWriter();
        Assert.True(await SwarmCommands.RunAsync(cluster.Client, plan, output, CancellationToken.None) == 0, output.ToString());

        var external = 0.0;
        foreach (var member in plan.Members)
        {
            var rows = OneUpdatePerStep(Path.Combine(_runDir, "kl", member.RunId), trajectoriesPerStep: 2 * 2);
            external += rows.Sum(r => r.Values[MetricColumns.ToColumn("swarm/external_groups")]);
            Assert.All(rows, r => Assert.Equal(2, r.Values[MetricColumns.ToColumn("swarm/local_groups")] + r.Values[MetricColumns.ToColumn("swarm/external_groups")]));
        }

        Assert.True(external > 0, "no step trained on external groups");
    }

    /// <summary>The same controller on a run without a pool: one update per step, over its 2 × 2 rollouts.</summary>
    [Fact]
    public async Task AdaptiveKlInReward_RunWithoutPool_UpdatesTheControllerOncePerStep()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1);
        var config = ToyRuns.Config(_runDir, Steps) with
        {
            RunId = "plain",
            Objective = new()
            {
                ["useKlInReward"] = "true",
                ["klCtrlAdaptive"] = "true",
                ["klCtrlCoef"] = FormattableString.Invariant($"{Beta}"),
                ["klCtrlTarget"] = "1000",
                ["klCtrlHorizon"] = FormattableString.Invariant($"{Horizon}"),
            },
        };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(config.RunId);
        await run.StartAsync(config);
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished);
        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");

        OneUpdatePerStep(Path.Combine(_runDir, config.RunId), trajectoriesPerStep: config.PromptsPerStep * config.GroupSize);
    }

    /// <summary>
    /// The β each step applied and the controller's state after the last step (saved with the trainer state): β·(1 − 0.2·n/horizon)
    /// per step, n the step's trajectories. Returns the run's RL step rows.
    /// </summary>
    private static List<MetricsCsvRow> OneUpdatePerStep(string directory, int trajectoriesPerStep)
    {
        var perStep = 1 - (0.2 * trajectoriesPerStep / Horizon);
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, MetricsCsvWriter.FileName)).Where(r => r.Step > 0).ToList();
        Assert.Equal(Steps, rows.Count);
        var applied = rows.Select(r => r.Values[MetricColumns.ToColumn("reward/kl_coef")]).ToList();
        Assert.Equal(Enumerable.Range(0, Steps).Select(k => Beta * Math.Pow(perStep, k)), applied, (a, b) => Math.Abs(a - b) < 1e-12);
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "trainer", TrainerState.StateFileName)));
        Assert.Equal(Beta * Math.Pow(perStep, Steps), state.RootElement.GetProperty("reward_kl_coef").GetDouble(), 1e-12);
        return rows;
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
