using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using AgentRl.Tools.Sandbox;

namespace AgentRl.Tools.Tests.Tools;

/// <summary>
/// What a hostile snippet tries, run for real in the bubblewrap sandbox: each probe prints what it reached as JSON and
/// the test asserts it reached nothing of the host (the table in src/Tools/README.md lists how each is stopped).
/// </summary>
[Collection(SandboxCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SandboxHostileProbeTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "agentrl-probe-tests", Guid.NewGuid().ToString("N"));
    private readonly string _marker = "agentrl-probe-" + Guid.NewGuid().ToString("N");
    private readonly List<string> _planted = [];
    private readonly List<Process> _hostProcesses = [];

    public void Dispose()
    {
        foreach (var process in _hostProcesses)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

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

        foreach (var path in Enumerable.Reverse(_planted))
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }

        if (Directory.Exists(Path.GetDirectoryName(_root)!))
        {
            Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);
        }
    }

    [Fact]
    public async Task PlantedWorldReadableFiles_InWorkingDirectoryRunFolderAndOpt_AreInvisible()
    {
        var inWorkingDirectory = Plant(Path.Combine(Environment.CurrentDirectory, _marker + ".txt"), "cwd-secret");
        var runFolder = PlantDirectory(Path.Combine(Environment.CurrentDirectory, "runs-" + _marker));
        var inRunFolder = Plant(
            Path.Combine(runFolder, "config.json"), "{\"storage\":\"DefaultEndpointsProtocol=https;AccountKey=run-secret\"}");
        var paths = new List<string> { inWorkingDirectory, inRunFolder };
        if (CanWrite("/opt"))
        {
            paths.Add(Plant(Path.Combine("/opt", _marker + ".txt"), "opt-secret"));
        }

        using var sandbox = NewSandbox();
        var result = await RunJsonAsync(sandbox, $$"""
            import json, os
            out = {}
            for path in {{JsonSerializer.Serialize(paths)}}:
                try:
                    out[path] = "read " + open(path).read()
                except OSError as e:
                    out[path] = type(e).__name__
            found = []
            for top in ["/"]:
                for dirpath, dirnames, filenames in os.walk(top):
                    if dirpath in ("/proc", "/sys", "/usr", "/dev"):
                        dirnames[:] = []
                        continue
                    found += [os.path.join(dirpath, n) for n in dirnames + filenames if "{{_marker}}" in n]
            out["found"] = found
            print(json.dumps(out))
            """);

        foreach (var path in paths)
        {
            Assert.Equal("FileNotFoundError", result.GetProperty(path).GetString());
        }

        Assert.Empty(result.GetProperty("found").EnumerateArray());
    }

    [Fact]
    public async Task HomeAndRoot_DoNotExist()
    {
        if (CanWrite("/home"))
        {
            Plant(Path.Combine("/home", _marker), "home-secret");
        }

        using var sandbox = NewSandbox();
        var result = await RunJsonAsync(sandbox, """
            import json, os
            out = {}
            for path in ["/home", "/root", "/opt", "/srv", "/var", "/mnt", "/media", "/run"]:
                try:
                    out[path] = sorted(os.listdir(path))
                except OSError as e:
                    out[path] = type(e).__name__
            out["root"] = sorted(os.listdir("/"))
            print(json.dumps(out))
            """);

        foreach (var path in new[] { "/home", "/root", "/opt", "/srv", "/var", "/mnt", "/media", "/run" })
        {
            Assert.Equal("FileNotFoundError", result.GetProperty(path).GetString());
        }

        var root = result.GetProperty("root").EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        Assert.Subset(new HashSet<string> { "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr", "work" }, root);
    }

    [Fact]
    public async Task Proc_ShowsOnlyTheSandbox_NotInitOrTheSilo()
    {
        var siloCommandLine = File.ReadAllText($"/proc/{Environment.ProcessId}/cmdline").Replace('\0', ' ').Trim();
        using var sandbox = NewSandbox();
        var result = await RunJsonAsync(sandbox, $$"""
            import json, os
            out = {}
            for path in ["/proc/1/environ", "/proc/{{Environment.ProcessId}}/cmdline", "/proc/{{Environment.ProcessId}}/environ"]:
                try:
                    out[path] = "read " + open(path, "rb").read().decode("utf-8", "replace").replace("\0", " ")
                except OSError as e:
                    out[path] = type(e).__name__
            out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            print(json.dumps(out))
            """);

        // /proc/1 is the namespace's init (bwrap), not the host's; as root it runs as another uid than the program.
        var init = result.GetProperty("/proc/1/environ").GetString()!;
        if (Environment.IsPrivilegedProcess)
        {
            Assert.Equal("PermissionError", init);
        }

        Assert.DoesNotContain("DOTNET", init, StringComparison.Ordinal);
        foreach (var path in new[] { $"/proc/{Environment.ProcessId}/cmdline", $"/proc/{Environment.ProcessId}/environ" })
        {
            var seen = result.GetProperty(path).GetString()!;
            Assert.DoesNotContain(siloCommandLine, seen, StringComparison.Ordinal);
        }

        // Only the sandbox's own processes: its init, the program (and nothing of the host's hundreds).
        Assert.InRange(result.GetProperty("pids").GetArrayLength(), 1, 4);
    }

    [Fact]
    public async Task Signals_CannotReachAHostProcessOfTheSameUser()
    {
        // The victim runs as the sandbox's own uid on the host, so only the PID namespace stands between them.
        var victim = StartHost(Environment.IsPrivilegedProcess ? "setpriv" : "sleep", Environment.IsPrivilegedProcess
            ? ["--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "300"]
            : ["300"]);
        await WaitUntilAsync(() => SandboxProbe.Command(victim.Id) == "sleep");

        using var sandbox = NewSandbox();
        var result = await RunJsonAsync(sandbox, $$"""
            import json, os, signal
            out = {}
            for name, pid in [("pid", {{victim.Id}}), ("all", -1)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    out[name] = "sent"
                except OSError as e:
                    out[name] = type(e).__name__
            print(json.dumps(out))
            """);

        Assert.Equal("ProcessLookupError", result.GetProperty("pid").GetString());
        await Task.Delay(200);
        Assert.False(victim.HasExited, "a sandboxed program killed a host process");
    }

    [Fact]
    public async Task Writes_ToDevShmTmpAndWorkDir_DoNotReachTheHostOrTheNextCall()
    {
        using var sandbox = NewSandbox();
        var paths = new[] { $"/dev/shm/{_marker}", $"/tmp/{_marker}", $"/work/{_marker}", $"/var/tmp/{_marker}", $"/etc/{_marker}", $"/usr/{_marker}" };
        var write = await RunJsonAsync(sandbox, $$"""
            import json
            out = {}
            for path in {{JsonSerializer.Serialize(paths)}}:
                try:
                    with open(path, "w") as f:
                        f.write("persist")
                    out[path] = "wrote"
                except OSError as e:
                    out[path] = type(e).__name__
            print(json.dumps(out))
            """);
        var read = await RunJsonAsync(sandbox, $$"""
            import json, os
            print(json.dumps({p: os.path.exists(p) for p in {{JsonSerializer.Serialize(paths)}}}))
            """);

        // Private, writable scratch space (so multiprocessing and tempfile work) ...
        Assert.Equal("wrote", write.GetProperty($"/dev/shm/{_marker}").GetString());
        Assert.Equal("wrote", write.GetProperty($"/tmp/{_marker}").GetString());
        Assert.Equal("wrote", write.GetProperty($"/work/{_marker}").GetString());
        Assert.NotEqual("wrote", write.GetProperty($"/etc/{_marker}").GetString());
        Assert.NotEqual("wrote", write.GetProperty($"/usr/{_marker}").GetString());

        // ... that is gone by the next call and never on the host.
        foreach (var path in paths)
        {
            Assert.False(read.GetProperty(path).GetBoolean(), $"{path} persisted into the next call");
            Assert.False(File.Exists(path), $"{path} reached the host");
        }

        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public async Task Sockets_LoopbackDnsOutboundAndAbstractUnix_AreAllBlocked()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        unix.Bind(new UnixDomainSocketEndPoint("\0" + _marker)); // abstract: lives in the network namespace
        unix.Listen(1);

        using var sandbox = NewSandbox();
        var result = await RunJsonAsync(sandbox, $$"""
            import json, socket
            out = {}
            def probe(name, f):
                try:
                    f()
                    out[name] = "reached"
                except OSError as e:
                    out[name] = type(e).__name__
            probe("loopback", lambda: socket.create_connection(("127.0.0.1", {{port}}), timeout=2))
            probe("dns", lambda: socket.getaddrinfo("example.com", 443))
            probe("outbound", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
            probe("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53)))
            def abstract():
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect("\0{{_marker}}")
            probe("abstract", abstract)
            print(json.dumps(out))
            """);

        foreach (var name in new[] { "loopback", "dns", "outbound", "udp", "abstract" })
        {
            Assert.NotEqual("reached", result.GetProperty(name).GetString());
        }

        Assert.False(listener.Pending());
        Assert.False(unix.Poll(0, SelectMode.SelectRead), "the abstract socket got a connection");
    }

    [Fact]
    public async Task SetsidAndDoubleFork_DoNotOutliveTheCall()
    {
        using var sandbox = NewSandbox(timeout: TimeSpan.FromSeconds(20));
        var result = await sandbox.RunAsync(Python($$"""
            import os, subprocess, sys
            sleeper = [sys.executable, "-c", "import time; time.sleep(300)", "{{_marker}}"]
            subprocess.Popen(["setsid"] + sleeper, start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, sleeper)
                os._exit(0)
            os.wait()
            print("escaped?", flush=True)
            """));

        Assert.Equal(0, result.ExitCode);
        Assert.False(result.TimedOut);
        Assert.Equal("escaped?\n", result.Stdout);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task TenThousandFiles_AreCreatedInScratchAndLeaveNothing_AndScratchIsCapped()
    {
        using var sandbox = NewSandbox(o => o.ScratchBytes = 4L * 1024 * 1024);
        var result = await RunJsonAsync(sandbox, """
            import json, os
            out = {}
            for top in ["/work/many", "/tmp/many"]:
                os.makedirs(top)
                for i in range(10_000):
                    open(f"{top}/{i}", "w").close()
                out[top] = len(os.listdir(top))
            try:
                with open("/work/fill", "wb") as f:
                    for _ in range(100):
                        f.write(b"x" * 1024 * 1024)
                        f.flush()
                out["fill"] = "wrote 100 MiB"
            except OSError as e:
                out["fill"] = e.strerror
            print(json.dumps(out))
            """);

        Assert.Equal(10_000, result.GetProperty("/work/many").GetInt32());
        Assert.Equal(10_000, result.GetProperty("/tmp/many").GetInt32());
        Assert.Equal("No space left on device", result.GetProperty("fill").GetString());
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public async Task DeepRecursion_EndsTheProgramNotTheHost()
    {
        using var sandbox = NewSandbox(o =>
        {
            o.CpuSeconds = 3;
            o.MemoryBytes = 128L * 1024 * 1024;
        });
        var result = await sandbox.RunAsync(Python("""
            import sys
            sys.setrecursionlimit(10**8)
            def down(n):
                return down(n + 1) + 1
            down(0)
            """));

        Assert.False(result.TimedOut);
        // It ends by itself: a stack overflow (SIGSEGV), Python's own error once memory runs out, or the CPU limit.
        Assert.True(
            result.ExitCode != 0 && (result.Signal is 11 or 24 or 9 || result.Stderr.Contains("Error", StringComparison.Ordinal)),
            $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Equal("ok\n", (await sandbox.RunAsync(Python("print('ok')"))).Stdout);
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task MemoryThroughThreads_StaysUnderTheAddressSpaceLimit()
    {
        const long limit = 256L * 1024 * 1024;
        using var sandbox = NewSandbox(o => o.MemoryBytes = limit, TimeSpan.FromSeconds(20));
        var result = await RunJsonAsync(sandbox, """
            import json, threading
            blocks, errors = [], []
            def grab():
                try:
                    blocks.append(bytearray(20_000_000))
                except MemoryError:
                    errors.append("MemoryError")
            threads = []
            for _ in range(500):
                try:
                    t = threading.Thread(target=grab)
                    t.start()
                    threads.append(t)
                except RuntimeError:
                    errors.append("RuntimeError")
                    break
            for t in threads:
                t.join()
            print(json.dumps({"held": len(blocks) * 20_000_000, "errors": sorted(set(errors))}))
            """);

        Assert.InRange(result.GetProperty("held").GetInt64(), 0, limit);
        Assert.NotEmpty(result.GetProperty("errors").EnumerateArray());
        await AssertNoSurvivorsAsync();
    }

    [Fact]
    public async Task StderrFlood_IsCappedAndDrained()
    {
        using var sandbox = NewSandbox();
        var result = await sandbox.RunAsync(Python("""
            import sys
            chunk = "e" * 1_000_000
            for _ in range(100):
                sys.stderr.write(chunk)
                sys.stdout.write("o")
            print("done")
            """));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(100_000_000 - (16 * 1024), result.StderrTruncatedBytes);
        Assert.StartsWith(new string('e', 16 * 1024) + "…[truncated ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(new string('o', 100) + "done\n", result.Stdout);
    }

    [Theory]
    [InlineData(SandboxIsolation.Auto)]
    [InlineData(SandboxIsolation.NetworkNamespace)]
    public async Task Privileges_NoCapabilitiesNoNewPrivsAndSeccompBlocksPtrace(SandboxIsolation isolation)
    {
        using var sandbox = NewSandbox(o =>
        {
            o.Isolation = isolation;
            o.AllowWeakerIsolation = isolation != SandboxIsolation.Auto;
        });
        var result = await RunJsonAsync(sandbox, """
            import ctypes, json, os
            status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
            libc = ctypes.CDLL(None, use_errno=True)
            def call(*args):
                r = libc.syscall(*args)
                return "ok" if r == 0 else os.strerror(ctypes.get_errno())
            out = {k: status[k].strip() for k in ["Uid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"]}
            out["ptrace"] = call(101, 0, 0, 0, 0)          # PTRACE_TRACEME: allowed to anyone without a filter
            out["unshare"] = call(272, 0x10000000)          # CLONE_NEWUSER
            out["fds"] = sorted(os.listdir("/proc/self/fd"))
            out["env"] = sorted(os.environ)
            print(json.dumps(out))
            """);

        foreach (var set in new[] { "CapInh", "CapPrm", "CapEff", "CapAmb" })
        {
            Assert.Equal("0000000000000000", result.GetProperty(set).GetString());
        }

        if (Environment.IsPrivilegedProcess)
        {
            Assert.StartsWith("65534\t", result.GetProperty("Uid").GetString(), StringComparison.Ordinal);
            Assert.Equal("0000000000000000", result.GetProperty("CapBnd").GetString());
        }

        Assert.Equal("1", result.GetProperty("NoNewPrivs").GetString());
        Assert.Equal(["0", "1", "2", "3"], result.GetProperty("fds").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("DOTNET_ROOT", result.GetProperty("env").EnumerateArray().Select(e => e.GetString()));
        if (isolation == SandboxIsolation.Auto && SeccompFilter.ForCurrentArchitecture() is not null)
        {
            Assert.Equal("2", result.GetProperty("Seccomp").GetString());
            Assert.Equal("Operation not permitted", result.GetProperty("ptrace").GetString());
            Assert.Equal("Operation not permitted", result.GetProperty("unshare").GetString());
        }
        else
        {
            // Without the filter the same call succeeds: the assertion above is the filter's doing.
            Assert.Equal("ok", result.GetProperty("ptrace").GetString());
        }
    }

    [Fact]
    public async Task InterpreterOutsideUsr_RunsWithOnlyItsPrefixBound()
    {
        var prefix = PlantDirectory(Path.Combine(Path.GetTempPath(), "agentrl-interp-" + _marker));
        Directory.CreateDirectory(Path.Combine(prefix, "bin"));
        var interpreter = Path.Combine(prefix, "bin", "python3");
        File.Copy(BubblewrapLayout.RealPath("/usr/bin/python3") ?? "/usr/bin/python3", interpreter);
        File.SetUnixFileMode(interpreter, (UnixFileMode)0b111_101_101);
        var sibling = Plant(Path.Combine(Path.GetTempPath(), "agentrl-sibling-" + _marker), "sibling-secret");

        Assert.Equal([prefix], BubblewrapLayout.ProgramBinds(interpreter));
        using var sandbox = NewSandbox();
        var result = await sandbox.RunAsync(new SandboxRequest(
            interpreter, ["-I", "-c", $"import os, sys; print(sys.executable, os.path.exists('{sibling}'))", _marker]));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"{interpreter} False\n", result.Stdout);
    }

    [Fact]
    public void ProgramBinds_PrefixRules()
    {
        Assert.Empty(BubblewrapLayout.ProgramBinds("/usr/bin/python3"));
        Assert.Equal(["/opt/py/3.12"], BubblewrapLayout.ProgramBinds("/opt/py/3.12/bin/python3"));
        Assert.Equal(["/opt/bin"], BubblewrapLayout.ProgramBinds("/opt/bin/python3")); // never all of /opt
        Assert.Equal(["/python3"], BubblewrapLayout.ProgramBinds("/python3"));         // never all of /
    }

    private ProcessSandbox NewSandbox(Action<ProcessSandboxOptions>? configure = null, TimeSpan? timeout = null)
    {
        var options = new ProcessSandboxOptions { WorkingDirectoryRoot = _root };
        configure?.Invoke(options);
        return new ProcessSandbox(options, timeout ?? TimeSpan.FromSeconds(20));
    }

    private SandboxRequest Python(string code) => new("python3", ["-c", code, _marker]);

    private async Task<JsonElement> RunJsonAsync(ProcessSandbox sandbox, string code)
    {
        var result = await sandbox.RunAsync(Python(code));
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode} ({result.Isolation}): {result.Stdout}{result.Stderr}");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private string Plant(string path, string content)
    {
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100); // world-readable
        _planted.Add(path);
        return path;
    }

    private string PlantDirectory(string path)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        _planted.Add(path);
        return path;
    }

    private static bool CanWrite(string directory)
    {
        try
        {
            var probe = Path.Combine(directory, ".agentrl-write-probe-" + Guid.NewGuid().ToString("N"));
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private Process StartHost(string program, IReadOnlyList<string> arguments)
    {
        var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })!;
        _hostProcesses.Add(process);
        return process;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in 10 s");
            await Task.Delay(20);
        }
    }

    private async Task AssertNoSurvivorsAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        IReadOnlyList<int> survivors;
        while ((survivors = SandboxProbe.ProcessesWith(_marker)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(survivors.Count == 0, $"processes survived the sandbox: {string.Join(", ", survivors)}");
    }
}
