using System.Globalization;
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
        await using var trainerSilo = StartSilo(redis, clusterId, "rollout,tools,trainer");
        await using var rolloutSilo = StartSilo(redis, clusterId, "rollout,tools");
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

        var resume = await Client("train", "--resume", "remote", "--steps", "3", "--print-config");
        Assert.True(resume.ExitCode == 0, resume.Stderr);
        Assert.Contains("\"resume\": true", resume.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"steps\": 3", resume.Stdout, StringComparison.Ordinal);

        var missing = await Client("runs", "status", "remot");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Did you mean 'remote'?", missing.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_clientFolder, "runs")));
    }

    private OwnedProcess StartSilo(RedisServer redis, string clusterId, string roles) =>
        new($"silo-{roles}", "dotnet",
        [
            Processes.SiloDll,
            "--clustering", "redis",
            "--redis", redis.Address,
            "--cluster-id", clusterId,
            "--silo-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
            "--gateway-port", Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
            "--roles", roles,
            "--accelerator", "cpu",
            "--torch-threads", "1",
            "--name", $"silo-{roles.Replace(',', '-')}",
        ], _siloFolder);

    public void Dispose()
    {
        Directory.Delete(_siloFolder, recursive: true);
        Directory.Delete(_clientFolder, recursive: true);
    }
}
