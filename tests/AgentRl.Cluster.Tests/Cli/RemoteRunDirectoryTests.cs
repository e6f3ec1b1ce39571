using AgentRl.Abstractions.Cluster;
using AgentRl.Abstractions.Training;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// A client whose machine does not hold the run directory: two silo processes on Redis write runs under their own
/// working folder, and the client runs from another folder (its own <c>runs/</c> does not exist). <c>runs list</c>,
/// <c>runs status</c>, <c>runs show</c>, <c>eval --run</c> and <c>train --resume</c> read the run through the cluster
/// (<c>IRunFilesGrain</c>), not the client's disk.
/// </summary>
public sealed class RemoteRunDirectoryTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly string _siloFolder = Directory.CreateTempSubdirectory("agentrl-silo-disk-").FullName;
    private readonly string _clientFolder = Directory.CreateTempSubdirectory("agentrl-client-disk-").FullName;

    [Fact]
    public async Task RunsCommands_AgainstAClusterStoringRunsOutOfTheClientsReach_ReadThroughTheCluster()
    {
        await using var redis = await RedisServer.StartAsync();
        var clusterId = "remote-" + Guid.NewGuid().ToString("N")[..8];
        await using var trainerSilo = Processes.StartSilo(redis, clusterId, "rollout,tools,trainer", "cpu", _siloFolder);
        await using var rolloutSilo = Processes.StartSilo(redis, clusterId, "rollout,tools", "cpu", _siloFolder);
        await (await ConnectWhenBothSilosAreUpAsync(redis, clusterId)).DisposeAsync();
        string[] cluster = [Processes.ClientDll, "--cluster", $"redis://{redis.Address}", "--cluster-id", clusterId];
        async Task<(int ExitCode, string Stdout, string Stderr)> Client(params string[] args) =>
            await Processes.RunAsync("dotnet", [.. cluster, .. args], Timeout, _clientFolder);

        var train = await Client(
            "train", "--steps", "2", "--set", "runId=remote", "--set", "sftDemonstrations=0", "--set", "evalSize=2", "--set", "passK=0",
            "--set", "promptsPerStep=2", "--set", "groupSize=2", "--set", "limits.maxNewTokensPerTurn=16");
        Assert.True(train.ExitCode == 0, train.Stdout + train.Stderr + trainerSilo.Output);
        var runFolder = Path.Combine(_siloFolder, "runs", "remote");
        Assert.True(File.Exists(Path.Combine(runFolder, "run_state.json")), "the silos write the run under their own folder");
        Assert.False(Directory.Exists(Path.Combine(_clientFolder, "runs")), "nothing of the run is on the client's side");

        var list = await Client("runs", "list", "--json");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("\"runId\": \"remote\"", list.Stdout, StringComparison.Ordinal);
        Assert.Contains(runFolder, list.Stdout, StringComparison.Ordinal);

        var status = await Client("runs", "status", "remote");
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("Completed", status.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"step(s done)? 2/2", status.Stdout);   // from the run grain, which still knows the run

        var show = await Client("runs", "show", "remote", "--step", "2");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains("remote/2/", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("user: ", show.Stdout, StringComparison.Ordinal);

        var eval = await Client("eval", "--run", "remote", "--step", "2", "--show", "0");
        Assert.True(eval.ExitCode == 0, eval.Stdout + eval.Stderr);
        Assert.Contains("run remote step 2", eval.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"arithmetic: accuracy \d+/2 = ", eval.Stdout);

        // A checkpoint directory as the silos see it: not checked on the client's disk against a cluster.
        var checkpoint = AgentRl.Abstractions.Training.RunStateFile.Read(runFolder)!.CheckpointLocation!;
        var evalCheckpoint = await Client("eval", "--checkpoint", checkpoint, "--n", "2", "--show", "0");
        Assert.True(evalCheckpoint.ExitCode == 0, evalCheckpoint.Stdout + evalCheckpoint.Stderr);
        Assert.Matches(@"arithmetic: accuracy \d+/2 = ", evalCheckpoint.Stdout);

        var resume = await Client("train", "--resume", "remote", "--steps", "3", "--print-config");
        Assert.True(resume.ExitCode == 0, resume.Stderr);
        Assert.Contains("\"resume\": true", resume.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"steps\": 3", resume.Stdout, StringComparison.Ordinal);

        var missing = await Client("runs", "status", "remot");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Did you mean 'remote'?", missing.Stderr, StringComparison.Ordinal);

        // Computed on the silos too: a diff of two runs, a checkpoint's summary, a swarm's definition and report.
        var diff = await Client("runs", "diff", "remote", "remote");
        Assert.True(diff.ExitCode == 0, diff.Stdout + diff.Stderr);
        var inspect = await Client("model", "inspect", checkpoint);
        Assert.True(inspect.ExitCode == 0, inspect.Stdout + inspect.Stderr);
        var swarm = await Client(
            "swarm", "--members", "1", "--steps", "1", "--name", "sw", "--local", "2", "--external", "0", "--set", "sftDemonstrations=0", "--set", "evalSize=2",
            "--set", "passK=0", "--set", "groupSize=2", "--set", "limits.maxNewTokensPerTurn=16");
        Assert.True(swarm.ExitCode == 0, swarm.Stdout + swarm.Stderr);
        foreach (var file in new[] { "swarm.json", "swarm.csv", "swarm.png", "sw-m0/metrics.csv" })
        {
            Assert.True(File.Exists(Path.Combine(_siloFolder, "runs", "sw", file)), $"{file} is written on the silos");
        }

        var resumeSwarm = await Client("swarm", "--resume", "sw");
        Assert.Equal(2, resumeSwarm.ExitCode);
        Assert.Contains("every member of swarm sw completed", resumeSwarm.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_clientFolder, "runs")));
    }

    /// <summary>
    /// The client library from this (test) process against the same kind of cluster: a run started, followed to its end,
    /// listed, its metrics and trajectories read, its checkpoint evaluated, a tool called and the tasks listed, all through
    /// grains (the run directory is the silos' folder, not this process's working folder).
    /// </summary>
    [Fact]
    public async Task ClientLibrary_AgainstAClusterStoringRunsOutOfTheClientsReach_StartsFollowsListsReadsAndEvaluates()
    {
        await using var redis = await RedisServer.StartAsync();
        var clusterId = "library-" + Guid.NewGuid().ToString("N")[..8];
        await using var trainerSilo = Processes.StartSilo(redis, clusterId, "rollout,tools,trainer", "cpu", _siloFolder);
        await using var rolloutSilo = Processes.StartSilo(redis, clusterId, "rollout,tools", "cpu", _siloFolder);
        await using var client = await ConnectWhenBothSilosAreUpAsync(redis, clusterId);
        var runId = "library-" + Guid.NewGuid().ToString("N")[..6];
        using var timeout = new CancellationTokenSource(Timeout);

        await client.StartRunAsync(
            new RunConfig
            {
                RunId = runId,
                Steps = 2,
                SftDemonstrations = 0,
                EvalSize = 2,
                PassK = 0,
                PromptsPerStep = 2,
                GroupSize = 2,
                Limits = new RunConfig().Limits with { MaxNewTokensPerTurn = 16 },
            },
            timeout.Token);
        var seen = new List<RunStatus>();
        await foreach (var status in client.FollowAsync(runId, cancellationToken: timeout.Token))
        {
            seen.Add(status);
        }

        Assert.True(seen[^1].State == RunState.Completed, $"{seen[^1].State}: {seen[^1].Error}\n{trainerSilo.Output}");
        Assert.Contains(seen, s => s.State == RunState.Training);
        Assert.False(Directory.Exists(Path.Combine(Environment.CurrentDirectory, "runs", runId)), "the run is on the silos' side only");

        var run = Assert.Single(await client.ListRunsAsync(cancellationToken: timeout.Token), r => r.RunId == runId);
        Assert.Equal(("Completed", 2, 2), (run.State, run.StepsDone, run.Steps));
        Assert.Equal(Path.Combine(_siloFolder, "runs", runId), run.Path);

        var metrics = await client.GetMetricsAsync(runId, cancellationToken: timeout.Token);
        Assert.Equal([0L, 1L, 2L], metrics.Select(m => m.Step));
        Assert.True(metrics[^1].Values.ContainsKey("reward_mean"));

        var trajectories = await client.GetTrajectoriesAsync(runId, step: 2, cancellationToken: timeout.Token);
        Assert.NotEmpty(trajectories);
        Assert.All(trajectories, t => Assert.Equal(2, t.Step));

        var evaluation = await client.EvaluateAsync(seen[^1].CheckpointLocation!, "arithmetic", new EvaluationOptions(Items: 3), timeout.Token);
        Assert.Equal(3, evaluation.Items);
        Assert.Equal(3, evaluation.Trajectories.Count);

        var observation = await client.CallToolAsync("calculator-evaluate", """{"expression":"6*7"}""", cancellationToken: timeout.Token);
        Assert.Equal("42", observation.Text.Trim());
        Assert.Contains(await client.ListTasksAsync(timeout.Token), t => t.Name == "jsonl");
        Assert.Contains(await client.ListToolsAsync(timeout.Token), t => t.Spec.Name == "python-run");

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => client.StartRunAsync(new RunConfig { RunId = runId + "-bad", Task = "aritmetic" }, timeout.Token));
        Assert.Contains("Did you mean 'arithmetic'?", bad.Message, StringComparison.Ordinal);
    }

    /// <summary>A client once both silo processes are active members (a run placed earlier would find no trainer silo).</summary>
    private static async Task<AgentRlClient> ConnectWhenBothSilosAreUpAsync(RedisServer redis, string clusterId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                var client = await AgentRlClient.ConnectAsync(new AgentRlClientOptions { Cluster = $"redis://{redis.Address}", ClusterId = clusterId });
                var silos = await client.Cluster.GetGrain<IClusterInfoGrain>(0).GetSilosAsync();
                if (silos.Count(s => s.Status == "Active") == 2)
                {
                    return client;
                }

                await client.DisposeAsync();
            }
            catch (ClusterConnectionException) when (DateTime.UtcNow < deadline)
            {
                // No gateway yet.
            }

            Assert.True(DateTime.UtcNow < deadline, "the two silos did not both become active");
            await Task.Delay(500);
        }
    }

    public void Dispose()
    {
        Directory.Delete(_siloFolder, recursive: true);
        Directory.Delete(_clientFolder, recursive: true);
    }
}
