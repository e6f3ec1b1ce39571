using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;
using AgentRl.Silo.Telemetry;

namespace AgentRl.Cluster.Tests.Telemetry;

/// <summary>
/// A silo's Prometheus endpoint scraped by a real Prometheus server, and the Orleans Dashboard page of a silo, each
/// during a toy run.
/// </summary>
public sealed class ScrapeAndDashboardTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-scrape-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Prometheus_ScrapesASiloDuringAToyRun_AndAnswersTheRunsRewardSeries()
    {
        var metricsPort = Processes.FreeTcpPort();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            1,
            (_, o) => o.Roles = "rollout,tools,trainer",
            configureBuilder: silo => silo.AddAgentRlTelemetry(new AgentRlTelemetryOptions { PrometheusPort = metricsPort }));
        await using var prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{metricsPort}");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("scraped");

        await run.StartAsync(Toy(steps: 2000));   // far more steps than the test waits for: it stops the run itself
        IReadOnlyList<(Dictionary<string, string> Labels, double Value)> series = [];
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (series.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1000);
            series = await prometheus.QueryAsync("agentrl_rollout_reward_mean{run_id=\"scraped\"}");
        }

        var during = await run.GetStatusAsync();
        await run.StopAsync();
        var end = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 4);

        Assert.True(series.Count == 1, "no agentrl_rollout_reward_mean series for the run; targets: " + await prometheus.TargetsAsync());
        Assert.True(during.State == RunState.Training && !during.IsFinished, $"the series was scraped after the run ended ({during.State})");
        var (labels, value) = series[0];
        Assert.Equal("scraped", labels["run_id"]);
        Assert.Equal("agentrl-silo", labels["job"]);
        // The scraped value is the reward of one of the run's steps, as metrics.csv records it.
        Assert.True(end.State is RunState.Stopped or RunState.Completed, $"{end.State}: {end.Error}");
        var rewards = MetricsCsvWriter.Read(Path.Combine(_runDir, "scraped", "metrics.csv")).Where(r => r.Step > 0).Select(r => r.Values["reward_mean"]).ToList();
        Assert.Contains(rewards, r => Math.Abs(r - value) < 1e-5);

        // The phase histogram is there too, by phase.
        var phases = await prometheus.QueryAsync("agentrl_phase_duration_seconds_count{run_id=\"scraped\"}");
        Assert.Contains(phases, p => p.Labels["phase"] == "Rollout" && p.Value >= 1);
    }

    [Fact]
    public async Task OrleansDashboard_OnASilo_AnswersOverHttpAndListsAgentRlGrainTypesDuringARun()
    {
        var dashboardPort = Processes.FreeTcpPort();
        await using var cluster = await AgentRlTestCluster.StartAsync(
            1,
            (_, o) => o.Roles = "rollout,tools,trainer",
            configureBuilder: silo => silo.AddAgentRlTelemetry(new AgentRlTelemetryOptions { DashboardPort = dashboardPort }));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{dashboardPort}/"), Timeout = TimeSpan.FromSeconds(10) };
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("dashboarded");

        await run.StartAsync(Toy(steps: 2000));
        var page = await http.GetAsync("");
        var html = await page.Content.ReadAsStringAsync();
        string[] wanted = ["AgentRl.Grains.Training.TrainingRunGrain", "AgentRl.Grains.Rollouts.EpisodeGrain", "AgentRl.Grains.Rollouts.RolloutBranchGrain"];
        List<string> types = [];
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!wanted.All(types.Contains) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            using var counters = JsonDocument.Parse(await http.GetStringAsync("DashboardCounters"));
            types = [.. counters.RootElement.GetProperty("simpleGrainStats").EnumerateArray().Select(g => g.GetProperty("grainType").GetString() ?? "")];
        }

        var during = await run.GetStatusAsync();
        await run.StopAsync();
        await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 4);

        Assert.True(page.IsSuccessStatusCode, $"GET / answered {(int)page.StatusCode}");
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        Assert.All(wanted, w => Assert.Contains(w, types));
        Assert.False(during.IsFinished, $"the grain types were listed after the run ended ({during.State})");
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }

    private RunConfig Toy(int steps) => ToyRuns.Config(_runDir, steps) with { EvalEvery = 100_000 };
}
