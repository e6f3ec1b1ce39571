using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Tools;

/// <summary>Runs alone (no other test class spawns sandboxes meanwhile), so the processes counted in /proc are its own.</summary>
[CollectionDefinition(nameof(SandboxProcessCount), DisableParallelization = true)]
public sealed class SandboxProcessCount;

/// <summary>
/// The silo's tool concurrency cap (<c>AgentRl:ToolRuntime:MaxConcurrentCalls</c>) holds under load: 12 sandbox grains
/// each run a 0.6 s <c>python-run</c> call at once on a silo capped at 3, and no more than 3 sandbox processes exist at any
/// moment — sampled from /proc every 10 ms, and checked again from the programs' own start and end times.
/// </summary>
[Collection(nameof(SandboxProcessCount))]
public sealed class ToolConcurrencyCapTests
{
    private const int Cap = 3;
    private const int Calls = 12;

    [Fact]
    public async Task TwelveCallsAtOnce_NeverMoreSandboxProcessesThanTheCap()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(1, configuration: new Dictionary<string, string?> { ["AgentRl:ToolRuntime:MaxConcurrentCalls"] = Cap.ToString(CultureInfo.InvariantCulture) });
        var peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, SandboxProcesses());
                await Task.Delay(10);
            }
        });

        const string code = "import time\nstart = time.time()\ntime.sleep(0.6)\nprint(f'{start} {time.time()}')";
        var observations = await Task.WhenAll(Enumerable.Range(0, Calls).Select(async i =>
        {
            var sandbox = cluster.Client.GetGrain<IToolSandboxGrain>($"cap/{i}");
            await sandbox.OpenAsync(new SandboxSpec("", "", MaxToolCalls: 1, CallTimeoutSeconds: 60), []);
            try
            {
                return await sandbox.InvokeAsync(new ToolCall("python-run", System.Text.Json.JsonSerializer.Serialize(new { code })));
            }
            finally
            {
                await sandbox.CloseAsync();
            }
        }));
        await sampling.CancelAsync();
        await sampler;

        Assert.All(observations, o => Assert.False(o.IsError, $"{o.ErrorKind}: {o.Text}"));
        Assert.InRange(peak, 2, Cap);   // at least 2: the sampler saw calls overlap, so it would have seen more than the cap

        // The programs' own clocks: at no instant did more than the cap run.
        var spans = observations.Select(o => o.Text.Trim().Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var most = spans.Max(s => spans.Count(t => t[0] <= s[0] && s[0] < t[1]));
        Assert.InRange(most, 1, Cap);
    }

    /// <summary>Children of this process that run a sandboxed python3 (bubblewrap or the plain launcher).</summary>
    private static int SandboxProcesses() => Processes.Children(Environment.ProcessId).Count(child =>
    {
        try
        {
            return File.ReadAllText($"/proc/{child}/cmdline").Contains("python3", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    });
}
