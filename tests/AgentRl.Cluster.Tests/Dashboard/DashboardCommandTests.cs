using System.Net;
using System.Text.Json;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Reporting;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Dashboard;

/// <summary>
/// <c>agentrl dashboard</c> as a real process on its embedded silo: it serves a finished run's folder under
/// <c>--run-dir</c> (written by the run reporting code), answers bad input with messages, and Ctrl-C stops it (exit 130).
/// </summary>
public sealed class DashboardCommandTests : IDisposable
{
    /// <summary>A hang guard, not a speed target.</summary>
    private static readonly TimeSpan Within = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Dashboard_EmbeddedOverAFinishedRun_ServesItsRunCurvesAndTrajectoriesAndStopsOnCtrlC()
    {
        using (var artifacts = new RunArtifacts(Path.Combine(_dir.Path, "done-run")))
        {
            artifacts.RecordStep(1, new Dictionary<string, double> { ["rollout/reward_mean"] = 0.25, ["rollout/accuracy"] = 0.5 });
            artifacts.RecordStep(2, new Dictionary<string, double> { ["rollout/reward_mean"] = 0.75, ["rollout/accuracy"] = 1.0 });
            artifacts.RecordSamples(2, [TrajectoryRecordTests.Sample("done-run/2/0")]);
        }

        var port = Processes.FreeTcpPort();
        // env --default-signal=INT: SIGINT reaches the command even when the test runner runs in the background.
        await using var dashboard = new OwnedProcess("dashboard", "env", ["--default-signal=INT", "dotnet", Processes.ClientDll, "dashboard", "--run-dir", _dir.Path, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await WaitForAsync(dashboard, $"http://127.0.0.1:{port}/");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        var runs = JsonDocument.Parse(await http.GetStringAsync("api/runs")).RootElement.GetProperty("runs");
        var charts = JsonDocument.Parse(await http.GetStringAsync("api/charts?runs=done-run")).RootElement.GetProperty("charts");
        var trajectories = JsonDocument.Parse(await http.GetStringAsync("api/runs/done-run/trajectories")).RootElement;
        var unknown = await http.GetAsync("api/runs/other/trajectories");
        var page = await http.GetStringAsync("");

        var run = Assert.Single(runs.EnumerateArray());
        Assert.Equal("done-run", run.GetProperty("runId").GetString());
        Assert.Equal(2, run.GetProperty("step").GetInt32());
        Assert.Equal(1.0, run.GetProperty("accuracy").GetDouble());
        Assert.False(run.GetProperty("live").GetBoolean());
        var reward = charts.EnumerateArray().Single(c => c.GetProperty("column").GetString() == "reward_mean").GetProperty("svg").GetString()!;
        Assert.Contains("done-run step 2: 0.75", reward, StringComparison.Ordinal);
        Assert.Equal(2, trajectories.GetProperty("step").GetInt64());
        var node = trajectories.GetProperty("groups")[0].GetProperty("nodes")[0];
        Assert.Equal("calculator-evaluate", node.GetProperty("messages")[2].GetProperty("toolCalls")[0].GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no run 'other' under", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("<script src=\"dashboard.js\"></script>", page, StringComparison.Ordinal);

        Processes.Interrupt(dashboard.Process);
        using var wait = new CancellationTokenSource(Within);
        await dashboard.Process.WaitForExitAsync(wait.Token);
        Assert.Equal(130, dashboard.Process.ExitCode);
        Assert.Contains("agentrl: stopping the dashboard", dashboard.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_PortTaken_ExitsTwoNamingThePort()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exit, _, stderr) = await Processes.RunAsync("dotnet", [Processes.ClientDll, "dashboard", "--run-dir", _dir.Path, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], Within);

        Assert.Equal(2, exit);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", stderr, StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(OwnedProcess process, string text)
    {
        var deadline = DateTime.UtcNow + Within;
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(process.Process.HasExited, $"exited before '{text}':\n{process.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no '{text}' within {Within}:\n{process.Output}");
            await Task.Delay(100);
        }
    }
}
