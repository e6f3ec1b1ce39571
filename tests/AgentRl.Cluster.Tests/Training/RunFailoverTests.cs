using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;
using AgentRl.Policy.Training;
using Orleans.Configuration;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>
/// A run survives the loss of its silo: on a two-silo cluster whose grain storage and reminders are in a real Redis (as on
/// a production cluster), the silo hosting the run grain is killed (or shut down) mid-run; nobody calls the run afterwards
/// until it is done.
/// </summary>
public sealed class RunFailoverTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-failover-" + Guid.NewGuid().ToString("N"));

    /// <param name="kill">true: the silo is killed (no shutdown, like a crash); false: it shuts down gracefully (deactivating the run).</param>
    /// <param name="mode">The run's mode: in async mode the groups in flight at the checkpoint are generated again, none trained twice.</param>
    [Theory]
    [InlineData(true, RunConfig.Modes.Sync)]
    [InlineData(false, RunConfig.Modes.Sync)]
    [InlineData(true, RunConfig.Modes.Async)]
    public async Task LostRunSilo_RunResumesOnTheSurvivorFromTheLastCheckpoint_AndCountsEachStepOnce(bool kill, string mode)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            2,
            (_, o) =>
            {
                o.Roles = "rollout,tools,trainer";
                o.AllowCpuTrainer = true;
                o.RunReminderPeriod = TimeSpan.FromSeconds(2);
            },
            silo =>
            {
                silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 1;
                    o.NumVotesForDeathDeclaration = 1;
                });
            },
            silo =>
            {
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
                silo.UseRedisReminderService(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
            });
        const int steps = 5;
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("failover");
        var directory = Path.Combine(_runDir, "failover");

        await run.StartAsync(ToyRuns.Config(_runDir, steps) with { Mode = mode });
        var before = await RunWaits.UntilAsync(run, s => s.IsFinished || RunStateFile.Read(directory) is { Step: >= 1 });
        Assert.True(before.State == RunState.Training, $"{before.State}: {before.Error}");
        var epochBefore = RunStateFile.Read(directory)!.Epoch;
        var doomed = cluster.Cluster.Silos.Single(s => s.SiloAddress.ToString() == before.Silo);
        var survivor = cluster.Cluster.Silos.Single(s => s != doomed);

        if (kill)
        {
            await cluster.Cluster.KillSiloAsync(doomed);
        }
        else
        {
            await cluster.Cluster.StopSiloAsync(doomed);
        }

        // Nobody calls the run: its reminder must bring it back on the survivor, which finishes it.
        var finished = await WaitForFileAsync(directory, f => f.State != RunState.Training && f.Epoch > epochBefore);
        Assert.Equal(RunState.Completed, finished.State);
        var after = await run.GetStatusAsync();
        Assert.True(after.State == RunState.Completed, $"{after.State}: {after.Error}");
        Assert.Equal(survivor.SiloAddress.ToString(), after.Silo);
        Assert.True(after.Recoveries >= 1, $"recoveries {after.Recoveries}");
        Assert.Equal(steps, after.Step);
        Assert.Equal(steps, finished.Step);

        // Each step exactly once, in order, with policy versions that never go back.
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), rows.Select(r => r.Step));
        var versions = rows.Skip(1).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.Equal(after.PolicyVersion, (long)versions[^1]);

        // No update was applied twice: the trainer's optimizer step count is the sum over the steps metrics.csv records.
        var perStep = rows.Skip(1).Sum(r => r.Values.GetValueOrDefault(MetricColumns.ToColumn("actor/optimizer_steps")));
        using var trainerState = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, RunStateFile.TrainerDirectoryName, TrainerState.StateFileName)));
        Assert.Equal(perStep, trainerState.RootElement.GetProperty("rl_optimizer_steps").GetInt64());
        Assert.False(Directory.Exists(Path.Combine(directory, RunStateFile.NextTrainerDirectoryName)));

        // Every group of the run trained exactly once (groups.csv drops the rows after the resumed checkpoint).
        var groups = TrainedGroupsLog.Read(Path.Combine(directory, TrainedGroupsLog.FileName));
        Assert.Equal(steps * 2, groups.Count);
        Assert.Equal(groups.Count, groups.Select(g => g.Episode).Distinct().Count());
    }

    [Fact]
    public async Task KilledTrainerSilo_RunRedoesTheStepWithATrainerOnAnotherSilo_AndCountsEachStepOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            3,
            (index, o) =>
            {
                // Silo 0 cannot host a trainer, so the run placed there outlives the trainer's silo.
                o.Roles = index == 0 ? "rollout,tools" : "rollout,tools,trainer";
                o.AllowCpuTrainer = index > 0;
                o.RunReminderPeriod = TimeSpan.FromSeconds(2);
            },
            silo =>
            {
                silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 1;
                    o.NumVotesForDeathDeclaration = 1;
                });
            },
            silo =>
            {
                silo.AddRedisGrainStorage(AgentRlStorage.Name, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
                silo.UseRedisReminderService(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.Address));
            });
        var runSilo = cluster.Cluster.Silos.Single(s => AgentRlTestCluster.SiloIndex(s.Name) == 0).SiloAddress.ToString();

        // A run grain is placed at random: take the first run id whose (idle) activation is on silo 0.
        var runId = "";
        for (var i = 0; runId.Length == 0; i++)
        {
            Assert.True(i < 50, "no run id placed on silo 0 in 50 tries");
            if ((await cluster.Client.GetGrain<ITrainingRunGrain>($"trainer-loss-{i}").GetStatusAsync()).Silo == runSilo)
            {
                runId = $"trainer-loss-{i}";
            }
        }

        const int steps = 5;
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(runId);
        var directory = Path.Combine(_runDir, runId);
        await run.StartAsync(ToyRuns.Config(_runDir, steps));
        var before = await RunWaits.UntilAsync(run, s => s.IsFinished || RunStateFile.Read(directory) is { Step: >= 1 });
        Assert.True(before.State == RunState.Training, $"{before.State}: {before.Error}");
        var trainerId = cluster.Client.GetGrain<ITrainerGrain>("default").GetGrainId();
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var trainerSilo = statistics.Single(s => s.GrainId == trainerId).SiloAddress;
        Assert.NotEqual(runSilo, trainerSilo.ToString());

        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => s.SiloAddress == trainerSilo));
        var after = await RunWaits.UntilAsync(run, s => s.IsFinished);

        Assert.True(after.State == RunState.Completed, $"{after.State}: {after.Error}");
        Assert.Equal(runSilo, after.Silo);
        Assert.True(after.Recoveries >= 1, $"recoveries {after.Recoveries}");
        Assert.Equal(steps, after.Step);
        var rows = MetricsCsvWriter.Read(Path.Combine(directory, "metrics.csv"));
        Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), rows.Select(r => r.Step));
        var versions = rows.Skip(1).Select(r => r.Values[MetricColumns.ToColumn("rollout/policy_version")]).ToList();
        Assert.Equal(versions.Order(), versions);
        var perStep = rows.Skip(1).Sum(r => r.Values.GetValueOrDefault(MetricColumns.ToColumn("actor/optimizer_steps")));
        using var trainerState = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, RunStateFile.TrainerDirectoryName, TrainerState.StateFileName)));
        Assert.Equal(perStep, trainerState.RootElement.GetProperty("rl_optimizer_steps").GetInt64());
        var movedTo = (await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics()).Single(s => s.GrainId == trainerId).SiloAddress;
        Assert.NotEqual(trainerSilo, movedTo);
    }

    private static async Task<RunStateFile> WaitForFileAsync(string directory, Func<RunStateFile, bool> until)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (RunStateFile.Read(directory) is { } file && until(file))
                {
                    return file;
                }
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                // Read while being replaced: try again.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"run_state.json in {directory} did not reach the awaited state within 3 minutes: {File.ReadAllText(Path.Combine(directory, RunStateFile.FileName))}");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
