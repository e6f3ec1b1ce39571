using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>Helpers for tests that run real processes: free ports, repository paths, signals.</summary>
public static partial class Processes
{
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A free loopback port, never one handed out before in this test process: the kernel may give a just-closed
    /// listener's port again, so two ports asked for in a row (a silo port and a gateway port) could be the same.
    /// </summary>
    public static int FreeTcpPort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>The repository root: the folder holding AgentRl.sln above the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in, used to find sibling outputs.</summary>
    public static string BuildConfiguration { get; } =
        typeof(Processes).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string SiloDll => Path.Combine(RepoRoot, "src", "Silo", "bin", BuildConfiguration, "net10.0", "AgentRl.Silo.dll");

    public static string ClientDll => Path.Combine(RepoRoot, "src", "Cli", "bin", BuildConfiguration, "net10.0", "agentrl.dll");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentRl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("AgentRl.sln not found above " + AppContext.BaseDirectory);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends SIGTERM (a polite stop) to a process.</summary>
    public static void Terminate(Process process)
    {
        if (!process.HasExited && Kill(process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Sends SIGINT (what Ctrl-C sends) to a process.</summary>
    public static void Interrupt(Process process)
    {
        if (!process.HasExited && Kill(process.Id, 2) != 0)
        {
            throw new InvalidOperationException($"kill -INT {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Sends SIGINT to the process group of <paramref name="process"/>, as Ctrl-C in a terminal does to the foreground
    /// group (the process must lead its group: start it with <see cref="StartGroupLeader"/>).
    /// </summary>
    public static void InterruptGroup(Process process)
    {
        if (!process.HasExited && Kill(-process.Id, 2) != 0)
        {
            throw new InvalidOperationException($"kill -INT -{process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Starts a command as the leader of a new session and process group (setsid execs it in place, so its pid is the
    /// group's id), like a command a terminal runs in the foreground; with SIGINT's default handling even when the test
    /// runner was started in the background (where it is ignored, and children inherit that).
    /// </summary>
    public static Process StartGroupLeader(string file, IEnumerable<string> args, string? workingDirectory = null) =>
        Start("setsid", ["env", "--default-signal=INT", file, .. args], workingDirectory);

    /// <summary>The pids of the children of <paramref name="pid"/> (from /proc).</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out var child))
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (fields[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    {
                        children.Add(child);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process exited while we looked.
            }
        }

        return children;
    }

    /// <summary>A silo process on Redis membership with <paramref name="roles"/>, in <paramref name="workingDirectory"/> (where its relative run directory resolves).</summary>
    public static OwnedProcess StartSilo(RedisServer redis, string clusterId, string roles, string accelerator, string? workingDirectory = null, int? siloPort = null, IEnumerable<string>? extraArgs = null) =>
        new($"silo-{roles}", "dotnet",
        [
            SiloDll,
            "--clustering", "redis",
            "--redis", redis.Address,
            "--cluster-id", clusterId,
            "--silo-port", (siloPort ?? FreeTcpPort()).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--gateway-port", FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--roles", roles,
            "--accelerator", accelerator,
            .. accelerator == "cuda" ? (string[])["--emulate-cuda", "true"] : [],   // no GPU here: a cuda label only for placement
            "--torch-threads", "1",
            "--name", siloPort is null ? $"silo-{roles.Replace(',', '-')}" : $"silo-{siloPort}",
            .. extraArgs ?? [],
        ], workingDirectory);

    /// <summary>Runs a command to completion and returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        using var process = Start(file, args, workingDirectory);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}. stderr: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    public static Process Start(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }
}

/// <summary>A process started by a test, its output collected, stopped by PID when disposed.</summary>
public sealed class OwnedProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();

    public OwnedProcess(string name, string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        Name = name;
        Process = Processes.Start(file, args, workingDirectory);
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public string Name { get; }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Processes.Terminate(Process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await Process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }
        }

        Process.Dispose();
    }
}

/// <summary>A real redis-server on a free 127.0.0.1 port, without persistence, stopped by PID.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private RedisServer(OwnedProcess process, int port, string? password, string? dataDirectory)
    {
        Process = process;
        Port = port;
        Password = password;
        DataDirectory = dataDirectory;
    }

    public OwnedProcess Process { get; private set; }

    /// <summary>Where an append-only-file server keeps its AOF (null: nothing persisted).</summary>
    public string? DataDirectory { get; }

    public int Port { get; }

    /// <summary>The password the server requires (<c>requirepass</c>), or null.</summary>
    public string? Password { get; }

    /// <summary>The StackExchange.Redis configuration string: <c>127.0.0.1:PORT</c>, with <c>,password=…</c> when one is required.</summary>
    public string Address => Password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={Password}";

    /// <param name="password">Run with <c>requirepass</c>: every client must authenticate.</param>
    /// <param name="appendOnly">Persist every write to an append-only file (fsync always) in a temporary folder, so a restart loses nothing.</param>
    public static async Task<RedisServer> StartAsync(string? password = null, bool appendOnly = false)
    {
        var port = Processes.FreeTcpPort();
        var data = appendOnly ? Directory.CreateTempSubdirectory("agentrl-redis-").FullName : null;
        return new RedisServer(await ListenAsync(port, password, data), port, password, data);
    }

    /// <summary>Kills the server (SIGKILL: no shutdown save) and starts it again on the same port from its append-only file.</summary>
    public async Task RestartAsync()
    {
        if (DataDirectory is null)
        {
            throw new InvalidOperationException("only an append-only server keeps its data across a restart");
        }

        Process.Process.Kill();
        await Process.Process.WaitForExitAsync();
        await Process.DisposeAsync();
        Process = await ListenAsync(Port, Password, DataDirectory);
    }

    private static async Task<OwnedProcess> ListenAsync(int port, string? password, string? data)
    {
        string[] auth = password is null ? [] : ["--requirepass", password];
        string[] persistence = data is null ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", "always", "--dir", data];
        var process = new OwnedProcess("redis", "redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", .. persistence, "--daemonize", "no", .. auth]);
        try
        {
            await WaitForPortAsync(port, process);
            return process;
        }
        catch (TimeoutException)
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Returns once <paramref name="process"/> accepts TCP connections on 127.0.0.1:<paramref name="port"/>; throws with its output if it exits first or takes over 10 s.</summary>
    public static async Task WaitForPortAsync(int port, OwnedProcess process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.Process.HasExited)
            {
                throw new InvalidOperationException("redis-server exited: " + process.Output);
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException("redis-server did not listen within 10 s: " + process.Output);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        if (DataDirectory is not null)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }
}
