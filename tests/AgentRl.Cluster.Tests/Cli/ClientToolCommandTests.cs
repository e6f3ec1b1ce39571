using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary><c>agentrl tools …</c> as a real process, on its embedded silo.</summary>
public sealed partial class ClientToolCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ToolsList_Json_ListsTheBuiltInToolsWithTheirSchemas()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "list", "--json"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var tools = json.RootElement.EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal("code", Assert.Single(tools["python-run"].GetProperty("parameters").GetProperty("required").EnumerateArray()).GetString());
        Assert.Equal("string", tools["calculator-evaluate"].GetProperty("parameters").GetProperty("properties").GetProperty("expression").GetProperty("type").GetString());
        Assert.Equal("integer", tools["kb-search"].GetProperty("parameters").GetProperty("properties").GetProperty("k").GetProperty("type").GetString());
        Assert.True(tools["kb-search"].GetProperty("needsKnowledgeBase").GetBoolean());
        Assert.False(tools["calculator-evaluate"].GetProperty("needsKnowledgeBase").GetBoolean());
        Assert.All(tools.Values, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("description").GetString())));
    }

    [Fact]
    public async Task ToolsList_Text_ShowsSchemasUnescaped()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "list"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("(1.5 + 2) * 3^2 / 7", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Ctrl-C in a terminal reaches the whole foreground process group. The call in flight is abandoned and its sandbox
    /// killed; the command says "interrupted" and exits 130 (not a tool error: the tool did not fail, the user stopped it).
    /// </summary>
    [Fact]
    public async Task ToolsCall_CtrlCDuringACall_SaysInterruptedAndExits130()
    {
        using var process = Processes.StartGroupLeader("dotnet", [Processes.ClientDll, "tools", "call", "--timeout", "120", "python-run", """{"code":"import time\ntime.sleep(120)"}"""]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // The call is in flight once the sandbox process running python (a child of agentrl) is up.
            var deadline = DateTime.UtcNow + Timeout;
            while (SandboxChildren(process.Id).Count == 0)
            {
                Assert.True(DateTime.UtcNow < deadline && !process.HasExited, $"no sandbox process started; stderr:\n{(process.HasExited ? await stderr : "")}");
                await Task.Delay(100);
            }

            await Task.Delay(500);
            var sandboxes = SandboxChildren(process.Id);
            Processes.InterruptGroup(process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(cts.Token);

            var error = await stderr;
            Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}; stderr:\n{error}");
            Assert.Contains("agentrl: interrupted", error, StringComparison.Ordinal);
            Assert.DoesNotContain("killed by signal", error, StringComparison.Ordinal);
            Assert.DoesNotContain("resource_limit", error, StringComparison.Ordinal);
            Assert.Empty(await stdout);
            await Task.Delay(2000);   // the sandbox is closed (its process killed) as the command ends
            Assert.All(sandboxes, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"sandbox process {pid} survived"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static List<int> SandboxChildren(int pid) => [.. Processes.Children(pid).Where(child =>
    {
        try
        {
            return File.ReadAllText($"/proc/{child}/cmdline").Contains("python3", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    })];

    [Fact]
    public async Task ToolsCall_Calculator_PrintsTheResultAndExitsZero()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "call", "calculator-evaluate", """{"expression":"(2+3)*7"}"""], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("35", result.Stdout.Trim());
        Assert.Matches(DurationPattern(), result.Stderr);
    }

    [Fact]
    public async Task ToolsCall_MalformedJson_ExitsWithToolErrorAndTheReason()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "call", "calculator-evaluate", """{"expression": """], Timeout);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("not valid JSON", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout.Trim());
    }

    [Fact]
    public async Task ToolsCall_KbSearchWithoutTask_ExitsTwoSayingItNeedsATask()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "call", "kb-search", """{"query":"x"}"""], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--task kb-multihop", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolsCall_KbSearchWithTask_SearchesTheItemsDocuments()
    {
        // The item's prompt names the entity the first hop searches for.
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "call", "kb-search", """{"query":"capital"}""", "--task", "kb-multihop", "--item-seed", "3"], Timeout);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var entity = ItemEntityPattern().Match(result.Stderr);
        Assert.True(entity.Success, result.Stderr);

        var search = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tools", "call", "kb-search", JsonSerializer.Serialize(new { query = entity.Groups[1].Value }), "--task", "kb-multihop", "--item-seed", "3"], Timeout);

        Assert.True(search.ExitCode == 0, search.Stderr);
        Assert.StartsWith($"[1] {entity.Groups[1].Value}\n", search.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolsCall_PythonInfiniteLoop_TimesOutPromptlyAndLeavesNoProcess()
    {
        var marker = "agentrl-cli-test-" + Guid.NewGuid().ToString("N");

        // exec puts the marker on the looping interpreter's command line, where /proc shows it.
        var code = $"import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'while True: pass  # {marker}'])";
        var clock = Stopwatch.StartNew();
        using var client = Processes.Start("dotnet", [Processes.ClientDll, "tools", "call", "python-run", JsonSerializer.Serialize(new { code }), "--timeout", "3"]);
        var stdout = client.StandardOutput.ReadToEndAsync();
        var stderr = client.StandardError.ReadToEndAsync();

        var seen = false;
        while (!client.HasExited && !seen)
        {
            seen = ProcessesWith(marker).Count > 0;
            await Task.Delay(50);
        }

        using var cts = new CancellationTokenSource(Timeout);
        await client.WaitForExitAsync(cts.Token);
        var elapsed = clock.Elapsed;

        Assert.True(seen, "the looping python process never appeared: " + await stderr);
        Assert.Equal(4, client.ExitCode);
        var error = await stderr;
        Assert.Contains("(timeout)", error, StringComparison.Ordinal);
        Assert.Contains("timed out after 3 s", error, StringComparison.Ordinal);
        var latency = double.Parse(DurationPattern().Match(error).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(latency, 2900, 6000);
        Assert.True(elapsed < TimeSpan.FromSeconds(40), $"took {elapsed}");
        Assert.Equal(string.Empty, (await stdout).Trim());
        Assert.Empty(ProcessesWith(marker));
    }

    /// <summary>Ids of live processes whose command line contains <paramref name="marker"/>.</summary>
    private static List<int> ProcessesWith(string marker)
    {
        var needle = Encoding.UTF8.GetBytes(marker);
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "stat"));
                if (File.ReadAllBytes(Path.Combine(dir, "cmdline")).AsSpan().IndexOf(needle) >= 0 && !status.Contains(") Z ", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }

        return found;
    }

    [GeneratedRegex(@"(\d+) ms")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"In which \w+ (?:is|was) (?:the \w+ of )?(.+?) (?:based|born|located)\?")]
    private static partial Regex ItemEntityPattern();
}
