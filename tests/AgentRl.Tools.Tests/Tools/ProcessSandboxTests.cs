using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AgentRl.Tools.Sandbox;

namespace AgentRl.Tools.Tests.Tools;

/// <summary>Sandbox tests run one at a time: the process-count limit is per user id, shared by concurrent runs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SandboxCollection
{
    public const string Name = "Sandbox";
}

/// <summary>Real processes under real limits; survivors are found by scanning /proc for a per-test marker in argv.</summary>
[Collection(SandboxCollection.Name)]
public sealed class ProcessSandboxTests : IDisposable
{
    private const string Setup = "tests/scripts/install-tool-deps.sh";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "agentrl-sandbox-tests", Guid.NewGuid().ToString("N"));
    private readonly string _marker = "agentrl-marker-" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        // Safety net only: the tests assert that nothing survives before this runs.
        foreach (var pid in SandboxProbe.ProcessesWith(_marker))
        {
            try
            {
                Process.GetProcessById(pid).Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
            }
        }

        if (Directory.Exists(Path.GetDirectoryName(_root)!))
        {
            Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);
        }
    }

    [Fact]
    public async Task Run_OnThisHost_UsesBubblewrap()
    {
        using var sandbox = NewSandbox();
        Assert.True(
            await sandbox.GetIsolationAsync() == SandboxIsolation.Bubblewrap,
            $"bubblewrap is not usable on this host: run {Setup} (as root)");
    }

    [Fact]
    public async Task Run_InfiniteLoopWithChild_TimesOutWithinOneSecondAndLeavesNoProcess()
    {
        using var sandbox = NewSandbox(o => o.CpuSeconds = 60, TimeSpan.FromSeconds(1.5));
        var code = $$"""
            import subprocess, sys
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "{{_marker}}"])
            print("started", flush=True)
            while True:
                pass
            """;

        var stopwatch = Stopwatch.StartNew();
        var result = await sandbox.RunAsync(Python(code));

        Assert.True(result.TimedOut);
        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 1.4, 2.5);
        Assert.Equal("started\n", result.Stdout);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Run_CpuBoundLoop_IsKilledAtCpuLimit()
    {
        using var sandbox = NewSandbox(o => o.CpuSeconds = 1);

        var result = await sandbox.RunAsync(Python("while True:\n    pass"));

        Assert.False(result.TimedOut);
        Assert.Contains(result.Signal, new int?[] { 24, 9 }); // SIGXCPU at the soft limit, SIGKILL at the hard one
        Assert.InRange(result.Elapsed.TotalSeconds, 0.9, 9.5); // CPU seconds ≤ wall seconds on a busy machine
    }

    [Fact]
    public async Task Run_MemoryBomb_FailsWithMemoryError()
    {
        using var sandbox = NewSandbox(o => o.MemoryBytes = 256L * 1024 * 1024);

        var result = await sandbox.RunAsync(Python("blocks = []\nwhile True:\n    blocks.append(bytearray(10_000_000))"));

        Assert.False(result.TimedOut);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("MemoryError", result.Stderr, StringComparison.Ordinal);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Run_ForkBomb_IsCappedByProcessLimitAndFullyKilled()
    {
        using var sandbox = NewSandbox(o => o.MaxProcesses = 24, TimeSpan.FromSeconds(2));
        var code = """
            import os, time
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        while True:
                            try:
                                os.fork()
                            except OSError:
                                time.sleep(0.01)
                    children += 1
            except OSError as e:
                print("blocked after", children, type(e).__name__, flush=True)
            while True:
                time.sleep(0.01)
            """;

        var result = await sandbox.RunAsync(Python(code));

        Assert.True(result.TimedOut);
        Assert.StartsWith("blocked after ", result.Stdout, StringComparison.Ordinal);
        var children = int.Parse(result.Stdout.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(children, 0, 24);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Run_HundredMegabytePrint_IsTruncatedWithMarker()
    {
        using var sandbox = NewSandbox();
        var code = "import sys\nchunk = 'x' * 1_000_000\nfor _ in range(100):\n    sys.stdout.write(chunk)";

        var result = await sandbox.RunAsync(Python(code));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(100_000_000 - (16 * 1024), result.StdoutTruncatedBytes);
        Assert.Equal(new string('x', 16 * 1024) + "…[truncated 99983616 bytes]", result.Stdout);
        Assert.InRange(result.Elapsed.TotalSeconds, 0, 8);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Run_WriteOutsideWorkingDirectory_FailsAndLeavesNothing()
    {
        using var sandbox = NewSandbox();
        Directory.CreateDirectory(_root);
        var outsideTmp = Path.Combine(Path.GetTempPath(), "escape-" + _marker);
        var outsideRoot = Path.Combine(_root, "escape-" + _marker);
        var code = $$"""
            import os
            for path in ["{{outsideTmp}}", "{{outsideRoot}}", "/escape-{{_marker}}"]:
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    print("wrote", path)
                except OSError as e:
                    print("denied", type(e).__name__)
            with open("inside.txt", "w") as f:
                f.write("ok")
            print("inside", open("inside.txt").read(), os.getcwd() == "/work")
            """;

        var result = await sandbox.RunAsync(Python(code));

        Assert.Equal(0, result.ExitCode);
        Assert.False(File.Exists(outsideTmp));
        Assert.False(File.Exists(outsideRoot));
        Assert.False(File.Exists("/escape-" + _marker));
        Assert.Contains("inside ok True", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_root)); // the run's working directory was removed
        await AssertNoSurvivorsAsync();
    }

    [Theory]
    [InlineData(SandboxIsolation.Auto)]
    [InlineData(SandboxIsolation.NetworkNamespace)]
    public async Task Run_ConnectToHostLoopback_IsBlocked(SandboxIsolation isolation)
    {
        using var sandbox = NewSandbox(o => Isolate(o, isolation));
        Assert.Equal(isolation == SandboxIsolation.Auto ? SandboxIsolation.Bubblewrap : isolation, await sandbox.GetIsolationAsync());
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var code = $$"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {{port}}), timeout=2)
                print("connected")
            except OSError as e:
                print("blocked", type(e).__name__)
            """;

        var result = await sandbox.RunAsync(Python(code));

        Assert.True(result.Stdout.StartsWith("blocked ", StringComparison.Ordinal), result.Stdout + result.Stderr);
        Assert.False(listener.Pending());
    }

    [Fact]
    public async Task Run_Environment_IsScrubbedAndUnprivileged()
    {
        Environment.SetEnvironmentVariable("AGENTRL_TEST_SECRET", "hunter2");
        using var sandbox = NewSandbox();

        var result = await sandbox.RunAsync(Python("import os\nprint(sorted(os.environ))\nprint(os.getuid())"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.DoesNotContain("AGENTRL_TEST_SECRET", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("'PATH'", result.Stdout, StringComparison.Ordinal);
        if (Environment.IsPrivilegedProcess)
        {
            Assert.EndsWith("\n65534\n", result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Dispose_DuringRun_KillsTheTree()
    {
        var sandbox = NewSandbox(timeout: TimeSpan.FromSeconds(60));
        var run = sandbox.RunAsync(Python("import time\nprint('up', flush=True)\ntime.sleep(60)"));
        await WaitForMarkerAsync();

        var stopwatch = Stopwatch.StartNew();
        sandbox.Dispose();
        // Generous bound for a loaded CI machine; far below the 60 s the program would otherwise sleep.
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(137, result.ExitCode);
        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 0, 30);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Run_CallerCancels_ThrowsAndKillsTheTree()
    {
        using var sandbox = NewSandbox(timeout: TimeSpan.FromSeconds(60));
        using var cancel = new CancellationTokenSource();
        var run = sandbox.RunAsync(Python("import time\ntime.sleep(60)"), cancel.Token);
        await WaitForMarkerAsync();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(5)));
        await AssertNoSurvivorsAsync();
    }

    /// <summary>
    /// Ctrl-C in a terminal signals the whole foreground process group: no sandbox process may be in the caller's, or
    /// the tool call in flight would die of agentrl's SIGINT (reported as a resource limit) instead of being stopped by it.
    /// </summary>
    [Theory]
    [InlineData(SandboxIsolation.Auto)]
    [InlineData(SandboxIsolation.ProcessOnly)]
    [InlineData(SandboxIsolation.NetworkNamespace)]
    public async Task Run_EveryProcess_IsOutsideTheCallersProcessGroup(SandboxIsolation isolation)
    {
        using var sandbox = NewSandbox(o => Isolate(o, isolation), TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource();
        var run = sandbox.RunAsync(Python("import time\ntime.sleep(30)"), cancel.Token);

        // Wait for the program itself, not only the launchers before it: setsid, unshare and prlimit carry the marker in
        // their arguments too, and each execs the next in place, so an early look can catch a process mid-exec.
        var ours = SandboxProbe.ProcessGroup(Environment.ProcessId);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<(int pid, int? group)> groups;
        while ((groups = SandboxProbe.ProcessesWith(_marker)
                   .Where(pid => SandboxProbe.Command(pid)?.StartsWith("python", StringComparison.Ordinal) == true)
                   .Select(pid => (pid, group: SandboxProbe.ProcessGroup(pid)))
                   .Where(p => p.group is not null).ToList()).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.NotNull(ours);
        Assert.NotEmpty(groups);
        Assert.All(groups, p => Assert.True(p.group != ours, $"sandbox process {p.pid} is in the caller's process group {ours}"));
        await AssertNoSurvivorsAsync();
    }

    [Theory]
    [InlineData(SandboxIsolation.ProcessOnly)]
    [InlineData(SandboxIsolation.NetworkNamespace)]
    public async Task Run_WeakerIsolation_StillTimesOutAndKillsTheTree(SandboxIsolation isolation)
    {
        using var sandbox = NewSandbox(o => Isolate(o, isolation), TimeSpan.FromSeconds(1));
        var code = $$"""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "{{_marker}}"])
            time.sleep(60)
            """;

        var result = await sandbox.RunAsync(Python(code));

        Assert.Equal(isolation, result.Isolation);
        Assert.True(result.TimedOut);
        Assert.InRange(result.Elapsed.TotalSeconds, 0.9, 2.5); // the tree walk of these modes is slower on a loaded host
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task Auto_WithoutBubblewrap_FailsClosedAndNamesWhatToInstall()
    {
        var tools = ToolsWithoutBubblewrap();
        using var sandbox = NewSandbox(o => o.ToolSearchPath = [tools]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sandbox.RunAsync(Python("print('ran')")));

        Assert.Contains("bubblewrap (bwrap) is not installed", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install bubblewrap", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowWeakerIsolation = true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_WithoutBubblewrap_FallsBackOnlyWhenOptedIn()
    {
        var tools = ToolsWithoutBubblewrap();
        using var sandbox = NewSandbox(o =>
        {
            o.ToolSearchPath = [tools];
            o.AllowWeakerIsolation = true;
        });

        var result = await sandbox.RunAsync(Python("print('ran')"));

        Assert.Equal(SandboxIsolation.NetworkNamespace, result.Isolation);
        Assert.Equal("ran\n", result.Stdout);
    }

    [Theory]
    [InlineData(SandboxIsolation.NetworkNamespace)]
    [InlineData(SandboxIsolation.ProcessOnly)]
    public void WeakerIsolation_WithoutOptIn_IsAConfigurationError(SandboxIsolation isolation)
    {
        Assert.False(new ProcessSandboxOptions().AllowWeakerIsolation);

        var error = Assert.Throws<ArgumentException>(() => new ProcessSandboxOptions { Isolation = isolation }.Validate());

        Assert.Contains($"isolation = {isolation} is weaker than bubblewrap", error.Message, StringComparison.Ordinal);
        Assert.Contains("allowWeakerIsolation = true", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A tool directory with links to everything the sandbox uses except bwrap.</summary>
    private string ToolsWithoutBubblewrap()
    {
        var dir = Path.Combine(_root, "tools");
        Directory.CreateDirectory(dir);
        foreach (var tool in new[] { "setsid", "prlimit", "setpriv", "unshare", "sh", "true" })
        {
            var target = new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" }.Select(d => Path.Combine(d, tool)).First(File.Exists);
            File.CreateSymbolicLink(Path.Combine(dir, tool), target);
        }

        return dir;
    }

    /// <summary>A weaker mode is an explicit opt-in (AllowWeakerIsolation); Auto stays fail-closed.</summary>
    private static void Isolate(ProcessSandboxOptions options, SandboxIsolation isolation)
    {
        options.Isolation = isolation;
        options.AllowWeakerIsolation = isolation is SandboxIsolation.NetworkNamespace or SandboxIsolation.ProcessOnly;
    }

    private ProcessSandbox NewSandbox(Action<ProcessSandboxOptions>? configure = null, TimeSpan? timeout = null)
    {
        var options = new ProcessSandboxOptions { WorkingDirectoryRoot = _root };
        configure?.Invoke(options);
        return new ProcessSandbox(options, timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>python3 -c CODE MARKER: the marker is in argv of the program and of every process it forks.</summary>
    private SandboxRequest Python(string code) => new("python3", ["-c", code, _marker]);

    private async Task WaitForMarkerAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (SandboxProbe.ProcessesWith(_marker).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sandboxed process did not start");
            await Task.Delay(20);
        }
    }

    private async Task AssertNoSurvivorsAsync()
    {
        // SIGKILLed processes vanish from /proc once reaped; allow a moment for that.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        IReadOnlyList<int> survivors;
        while ((survivors = SandboxProbe.ProcessesWith(_marker)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(survivors.Count == 0, $"processes survived the sandbox: {string.Join(", ", survivors)}");
    }
}

/// <summary>Finds live processes whose command line contains a marker, by scanning /proc.</summary>
internal static class SandboxProbe
{
    /// <summary>The process group of <paramref name="pid"/> (field 5 of /proc/PID/stat), or null when it has exited.</summary>
    public static int? ProcessGroup(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The command name of <paramref name="pid"/> (/proc/PID/comm), or null when it has exited.</summary>
    public static string? Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static IReadOnlyList<int> ProcessesWith(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while we looked.
            }
        }

        return found;
    }
}
