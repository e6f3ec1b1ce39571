using System.Net;
using System.Text.Json;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Training;
using AgentRl.Dashboard;
using Microsoft.Playwright;

namespace AgentRl.Cluster.Tests.Dashboard;

/// <summary>
/// The run dashboard in a real browser (Debian's chromium driven by Playwright) during a toy ARPO run on a two-silo
/// cluster: the run's live row, a reward curve, a trajectory with a tool call, and a rollout tree with its forks. Screenshots
/// go to <c>artifacts/dashboard/</c> under the test's output folder.
/// </summary>
public sealed class RunDashboardBrowserTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-dashboard-" + Guid.NewGuid().ToString("N"));

    /// <summary>Where the screenshots go: under the test's output folder.</summary>
    public static string ArtifactDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard");

    /// <summary>Debian's chromium (test.sh installs it), or the browser named by AGENTRL_CHROMIUM.</summary>
    private static string Chromium =>
        Environment.GetEnvironmentVariable("AGENTRL_CHROMIUM") is { Length: > 0 } path ? path
        : File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium"
        : throw new InvalidOperationException("no chromium at /usr/bin/chromium: install Debian's chromium (./test.sh does) or set AGENTRL_CHROMIUM.");

    [Fact]
    public async Task Dashboard_DuringAToyArpoRun_ShowsTheLiveRunACurveAToolCallAndARolloutTree()
    {
        Directory.CreateDirectory(ArtifactDirectory);
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools");
        var client = AgentRlClient.Over(cluster.Client);
        const string runId = "arpo-dashboard";
        await client.StartRunAsync(new RunConfig
        {
            RunId = runId,
            Algorithm = "arpo",
            Steps = 10,
            PromptsPerStep = 4,
            GroupSize = 4,
            // BranchingTrainingRunTests' warm start: the model then writes calculator calls (not all of which parse), so trees grow.
            SftDemonstrations = 48,
            SftEpochs = 4,
            EvalSize = 2,
            EvalEvery = 1,
            PassK = 0,
            Temperature = 0.7,
            RunDir = _runDir,
            Limits = new RolloutLimits(MaxTurns: 3, MaxNewTokensPerTurn: 64, ContextBudget: 384),
            Branching = new BranchingSettings { InitialTrajectories = 2, Alpha = 1.0, Tau = 0.0 },
        });
        await using var dashboard = await RunDashboard.StartAsync(client, new RunDashboardOptions { Port = 0, RunDir = _runDir });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var wait = new PageWaitForSelectorOptions { Timeout = (float)TimeSpan.FromMinutes(10).TotalMilliseconds };

        await page.GotoAsync(dashboard.Url);

        // The run is listed while it runs, with its live state (warm start, then training).
        var row = page.Locator($"tr[data-run='{runId}']");
        await page.WaitForSelectorAsync($"tr[data-run='{runId}'] .live", wait);
        Assert.Equal("arpo", (await row.Locator("td").Nth(7).InnerTextAsync()).Trim());
        // After a step, while it is still live: its step, its ETA and a reward curve drawn from metrics.csv, with its points.
        await page.WaitForFunctionAsync(
            """
            id => {
              const row = document.querySelector(`tr[data-run='${id}']`);
              return row !== null && row.querySelector('.live') !== null && /^\d+(h \d+m|m \d+s|s)$/.test(row.cells[6].innerText.trim())
                && document.querySelector("svg[data-column='reward_mean'] polyline.series") !== null;
            }
            """,
            runId,
            new PageWaitForFunctionOptions { Timeout = wait.Timeout, PollingInterval = 100 });
        Assert.True(await page.Locator("svg[data-column='reward_mean'] circle").CountAsync() >= 1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactDirectory, "live.png"), FullPage = true });

        var status = await TrainingRunWait.UntilFinishedAsync(cluster.Client.GetGrain<ITrainingRunGrain>(runId), TimeSpan.FromMinutes(10));
        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        await page.WaitForSelectorAsync($"tr[data-run='{runId}'] .state.Completed", wait);
        Assert.Equal("10 / 10", (await row.Locator("td").Nth(3).InnerTextAsync()).Trim());

        // A step whose first group is a rollout tree (α = 1, τ = 0: every tool result forks while the budget lasts).
        using var http = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        var steps = JsonDocument.Parse(await http.GetStringAsync($"api/runs/{runId}/trajectories")).RootElement.GetProperty("steps").EnumerateArray().Select(s => s.GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 10).Select(s => (long)s), steps);
        var pages = new Dictionary<long, string>();
        foreach (var s in steps)
        {
            pages[s] = await http.GetStringAsync($"api/runs/{runId}/trajectories?step={s}");
        }

        bool IsTree(long s) => JsonDocument.Parse(pages[s]).RootElement.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("isTree").GetBoolean());
        bool HasCall(long s) => pages[s].Contains("\"toolCalls\":[{", StringComparison.Ordinal);
        var treeStep = steps.Where(IsTree).Cast<long?>().FirstOrDefault();
        var callStep = steps.Where(HasCall).Cast<long?>().FirstOrDefault();
        var metrics = string.Join("; ", (await client.GetMetricsAsync(runId, _runDir)).Select(r => $"step {r.Step}: tool calls {r.Values.GetValueOrDefault("tool_calls_per_traj")}, branches {r.Values.GetValueOrDefault("branches_per_prompt")}"));
        Assert.True(treeStep is not null, "no step logged a rollout tree: " + metrics);


        await page.SelectOptionAsync("#step", Text(treeStep.Value));
        await page.WaitForSelectorAsync(".group.tree .node.child .fork", wait);
        var tree = page.Locator(".group.tree").First;
        Assert.Contains("attribution soft", await tree.Locator("h3").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Matches(@"forked from [\d.]+ at token \d+ · ΔH [+-]\d\.\d{3}", await tree.Locator(".node.child .fork").First.InnerTextAsync());
        Assert.Contains("(leaf)", await tree.Locator(".tree-outline").InnerTextAsync(), StringComparison.Ordinal);
        // The shared prefix is shown once: a child shows only the messages after its fork.
        Assert.Matches(@"\d+ messages shared with [\d.]+", await tree.Locator(".node.child .shared").First.InnerTextAsync());
        await tree.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ArtifactDirectory, "rollout-tree.png") });

        // A trajectory with a tool call and its result (a tree grows only at tool results): one that parsed when a step
        // logged one, else a call the parser could not read, marked so. Tokens coloured by loss mask (generated ones blue).
        var shown = steps.Where(s => IsTree(s) && HasCall(s)).Cast<long?>().FirstOrDefault() ?? callStep ?? treeStep.Value;
        await page.SelectOptionAsync("#step", Text(shown));
        await page.WaitForSelectorAsync(callStep is null ? ".msg.assistant .toolcall.unparsed" : ".msg.assistant .toolcall:not(.unparsed)", wait);
        Assert.True(await page.Locator(".msg.tool").CountAsync() >= 1);
        Assert.True(await page.Locator(".tok[style*='#0072B2']").CountAsync() >= 1, "no generated (mask 1) token shown");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactDirectory, "dashboard.png"), FullPage = true });
        // Tokens coloured by entropy: the generated ones take the heat scale.
        await page.CheckAsync("input[name=colour][value=entropy]");
        await page.WaitForSelectorAsync(".tok[style*='rgb(255']", wait);
        await page.Locator("#charts-section").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ArtifactDirectory, "curves.png") });

        // Bad input answers with a message, not a crash; the page shows it.
        var unknown = await http.GetAsync("api/runs/no-such-run/trajectories");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains($"no run 'no-such-run' under {_runDir}; runs there: {runId}", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var badStep = await http.GetAsync($"api/runs/{runId}/trajectories?step=x");
        Assert.Equal(HttpStatusCode.BadRequest, badStep.StatusCode);
        var missingStep = await http.GetAsync($"api/runs/{runId}/trajectories?step=99");
        Assert.Equal(HttpStatusCode.NotFound, missingStep.StatusCode);
        Assert.Contains("steps logged: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10", await missingStep.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_ClusterGoesDown_ThePageAndTheApiSaySoAndTheServerKeepsServing()
    {
        var cluster = await AgentRlTestCluster.StartAsync(1);
        var client = AgentRlClient.Over(cluster.Client);
        await using var dashboard = await RunDashboard.StartAsync(client, new RunDashboardOptions { Port = 0, RunDir = _runDir });
        using var http = new HttpClient { BaseAddress = new Uri(dashboard.Url), Timeout = TimeSpan.FromMinutes(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/runs")).StatusCode);

        await cluster.DisposeAsync();
        var down = await http.GetAsync("api/runs");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Contains("the cluster does not answer", await down.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.Url);
        await page.WaitForSelectorAsync("#error:not([hidden])", new PageWaitForSelectorOptions { Timeout = (float)TimeSpan.FromMinutes(10).TotalMilliseconds });
        Assert.Contains("the cluster does not answer", await page.Locator("#error").InnerTextAsync(), StringComparison.Ordinal);
        Directory.CreateDirectory(ArtifactDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactDirectory, "cluster-down.png") });
    }

    private static string Text(long step) => step.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
