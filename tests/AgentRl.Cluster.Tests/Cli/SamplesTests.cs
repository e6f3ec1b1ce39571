using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// The samples as a user runs them: <c>samples/TrainFromApp</c> (built with the solution) trains the
/// <c>samples/CustomTask</c> task with its stateful tool plugin on a silo hosted in the app, end to end; and the client
/// library packs as a NuGet package.
/// </summary>
public sealed class SamplesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("agentrl-samples-").FullName;

    private static string SampleDll => Path.Combine(Processes.RepoRoot, "samples", "TrainFromApp", "bin", Processes.BuildConfiguration, "net10.0", "AgentRl.Samples.TrainFromApp.dll");

    [Fact]
    public async Task TrainFromApp_TrainsTheCustomTaskWithItsPluginOnAnEmbeddedSilo()
    {
        var (code, stdout, stderr) = await Processes.RunAsync("dotnet", [SampleDll, "2", "64"], TimeSpan.FromMinutes(6), _folder);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Matches(@"(?m)^Training step 1/2 ", stdout);
        Assert.Matches(@"(?m)^restock-\S+: Completed; held-out accuracy \d+\.\d % after the warm start, \d+\.\d % at the end$", stdout);

        // The run trained the plug-in task: its config names it and its logged trajectories are the task's items.
        var run = Directory.GetDirectories(Path.Combine(_folder, "runs")).Single();
        var trajectories = string.Concat(Directory.GetFiles(Path.Combine(run, "trajectories"), "*.jsonl").Select(File.ReadAllText));
        Assert.Contains("\"task\": \"restock\"", File.ReadAllText(Path.Combine(run, "config.json")), StringComparison.Ordinal);
        Assert.Contains("\"itemId\":\"restock-", trajectories, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientLibrary_Packs()
    {
        var (code, stdout, stderr) = await Processes.RunAsync(
            "dotnet", ["pack", Path.Combine(Processes.RepoRoot, "src", "Client", "AgentRl.Client.csproj"), "-c", Processes.BuildConfiguration, "--no-build", "-o", _folder], TimeSpan.FromMinutes(3));

        Assert.True(code == 0, stdout + stderr);
        Assert.True(File.Exists(Path.Combine(_folder, "AgentRl.Client.0.1.0.nupkg")), stdout);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
