using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentRl.Tools.Sandbox;

/// <summary>One program to run in a <see cref="ProcessSandbox"/>.</summary>
/// <param name="Program">Executable name (looked up in <see cref="ProcessSandboxOptions.ProgramSearchPath"/>) or absolute path.</param>
/// <param name="Arguments">Arguments, passed without a shell.</param>
/// <param name="Files">Files written into the fresh working directory before the run: relative name → UTF-8 text.</param>
/// <param name="StandardInput">Text written to stdin (then closed); null closes stdin at once.</param>
public sealed record SandboxRequest(
    string Program,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string>? Files = null,
    string? StandardInput = null);

/// <summary>What a sandboxed run produced.</summary>
/// <param name="ExitCode">Exit status; 128 + signal when killed by a signal (e.g. 137 SIGKILL, 152 SIGXCPU, 153 SIGXFSZ).</param>
/// <param name="TimedOut">The wall-clock timeout fired and the process tree was killed.</param>
/// <param name="Stdout">Captured stdout, capped, with a <c>…[truncated N bytes]</c> marker when cut.</param>
/// <param name="Stderr">Captured stderr, capped likewise.</param>
/// <param name="StdoutTruncatedBytes">Bytes of stdout dropped by the cap.</param>
/// <param name="StderrTruncatedBytes">Bytes of stderr dropped by the cap.</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
/// <param name="Isolation">The isolation mode that was actually used.</param>
public sealed record SandboxResult(
    int ExitCode,
    bool TimedOut,
    string Stdout,
    string Stderr,
    long StdoutTruncatedBytes,
    long StderrTruncatedBytes,
    TimeSpan Elapsed,
    SandboxIsolation Isolation)
{
    /// <summary>The signal that killed the process, when <see cref="ExitCode"/> is 128 + a signal number.</summary>
    public int? Signal => ExitCode is > 128 and < 160 ? ExitCode - 128 : null;
}

/// <summary>
/// Runs programs with limits: see <see cref="SandboxIsolation"/> for what each mode enforces. Every run gets a fresh
/// working directory (removed afterwards) and a scrubbed environment; rlimits are set with <c>prlimit</c> and, when the
/// host runs as root, the program runs as <see cref="ProcessSandboxOptions.SandboxUserId"/> (via <c>setpriv</c>) so that
/// the process-count limit applies and host files owned by root stay unwritable. stdout and stderr are read concurrently
/// into capped buffers (the rest is drained and counted, never buffered). On timeout, cancellation, after a normal exit
/// and on <see cref="Dispose"/>, the whole process tree is killed (process group + tree walk; in bubblewrap mode the PID
/// namespace dies with its init). Reusable and thread-safe: concurrent runs are independent. Each run's wall clock is
/// limited by <see cref="Timeout"/>; a tool session creates its sandbox with its own per-call timeout.
/// </summary>
public sealed partial class ProcessSandbox : IDisposable
{
    private const int SigKill = 9;

    private const string SeccompFileName = "seccomp.bpf";

    private static readonly SemaphoreSlim ProbeLock = new(1, 1);
    private static readonly ConcurrentDictionary<string, (bool Ok, string Detail)> ProbeResults = new();
    private static readonly Lazy<byte[]?> Seccomp = new(SeccompFilter.ForCurrentArchitecture);
    private static readonly ConcurrentDictionary<string, bool> Warned = new();
    private static int _seccompWarned;

    private readonly ProcessSandboxOptions _options;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, (Process Process, bool OwnGroup, string? Marker)> _running = new();
    private SandboxIsolation? _resolved;
    private volatile bool _disposed;

    /// <param name="options">The resource limits and isolation.</param>
    /// <param name="timeout">Wall-clock limit of each run, in (0, <see cref="MaxTimeout"/>]: the tree is killed when it passes.</param>
    /// <param name="logger">Logs runs, fallbacks and probes.</param>
    public ProcessSandbox(ProcessSandboxOptions options, TimeSpan timeout, ILogger<ProcessSandbox>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (timeout <= TimeSpan.Zero || timeout > MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(
                nameof(timeout), timeout, $"the sandbox timeout must be in (0, {MaxTimeout.TotalSeconds:0} s]");
        }

        _options = options;
        _timeout = timeout;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The longest <see cref="Timeout"/> a sandbox accepts: one day.</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromDays(1);

    public ProcessSandboxOptions Options => _options;

    /// <summary>Wall-clock limit of each run; when it passes the whole process tree is killed and the result is <see cref="SandboxResult.TimedOut"/>.</summary>
    public TimeSpan Timeout => _timeout;

    /// <summary>The isolation mode runs use on this host (probed once: bubblewrap, then <c>unshare -n</c>).</summary>
    public async Task<SandboxIsolation> GetIsolationAsync(CancellationToken cancellationToken = default)
    {
        if (_resolved is { } known)
        {
            return known;
        }

        var mode = await ResolveIsolationAsync(cancellationToken).ConfigureAwait(false);
        _resolved = mode;
        return mode;
    }

    /// <summary>Runs <paramref name="request"/> under the limits; never leaves a process behind.</summary>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled (the tree is killed first).</exception>
    /// <exception cref="InvalidOperationException">When isolation is required but unavailable, or the program is not found.</exception>
    public async Task<SandboxResult> RunAsync(SandboxRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var isolation = await GetIsolationAsync(cancellationToken).ConfigureAwait(false);
        var program = ResolveProgram(request.Program);
        var workDir = CreateWorkingDirectory();
        var systemDir = workDir + ".sys";
        try
        {
            var inputs = new List<(string Relative, string HostPath)>();
            foreach (var (name, content) in request.Files ?? new Dictionary<string, string>())
            {
                var path = Path.GetFullPath(Path.Combine(workDir, name));
                if (!path.StartsWith(workDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"file '{name}' is outside the working directory", nameof(request));
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, content, cancellationToken).ConfigureAwait(false);
                SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                inputs.Add((Path.GetRelativePath(workDir, path), path));
            }

            if (isolation == SandboxIsolation.Bubblewrap)
            {
                PrepareSystemDirectory(systemDir);
            }

            return await RunInDirectoryAsync(program, request, workDir, systemDir, inputs, isolation, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            DeleteWorkingDirectory(workDir);
            DeleteWorkingDirectory(systemDir);
        }
    }

    /// <summary>Kills every process tree this sandbox still runs.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var (process, ownGroup, marker) in _running.Values)
        {
            KillTree(process, ownGroup, marker);
        }
    }

    private async Task<SandboxResult> RunInDirectoryAsync(
        string program,
        SandboxRequest request,
        string workDir,
        string systemDir,
        IReadOnlyList<(string Relative, string HostPath)> inputs,
        SandboxIsolation isolation,
        CancellationToken cancellationToken)
    {
        var startInfo = BuildStartInfo(program, request.Arguments, workDir, systemDir, inputs, isolation);
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = startInfo };
        await Launcher.StartAsync(process).ConfigureAwait(false);

        // Every mode starts under setsid, so no sandbox process shares the terminal's process group (Ctrl-C is agentrl's).
        // Outside bubblewrap the program leads its own process group; bubblewrap uses a PID namespace instead.
        // In bubblewrap mode the sandbox's PID-namespace init is a forked bwrap that carries the run's unique system
        // directory in its command line: killing it kills the whole namespace, even if it missed its parent's death.
        var ownGroup = isolation != SandboxIsolation.Bubblewrap;
        var marker = ownGroup ? null : systemDir;
        _running[process.Id] = (process, ownGroup, marker);
        if (_disposed)
        {
            // Disposed while this run was starting: Dispose did not see it, so kill it here.
            KillTree(process, ownGroup, marker);
        }

        var timedOut = false;
        try
        {
            // The readers stop at end of stream; if something still held a pipe open, they give up 5 s after the kill.
            using var readers = new CancellationTokenSource();
            var stdoutTask = CappedReader.ReadAsync(process.StandardOutput.BaseStream, _options.OutputLimitBytes, readers.Token);
            var stderrTask = CappedReader.ReadAsync(process.StandardError.BaseStream, _options.OutputLimitBytes, readers.Token);
            await WriteStandardInputAsync(process, request.StandardInput).ConfigureAwait(false);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                timedOut = !cancellationToken.IsCancellationRequested;
                KillTree(process, ownGroup, marker);
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None)
                    .ConfigureAwait(false);
            }

            // Background children the program left behind die with it (their pipes would otherwise keep readers open).
            KillTree(process, ownGroup, marker);
            readers.CancelAfter(TimeSpan.FromSeconds(5));
            var stdout = await stdoutTask.ConfigureAwait(false);
            var stderr = await stderrTask.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            var exitCode = process.ExitCode;
            stopwatch.Stop();
            LogRun(_logger, program, isolation, exitCode, timedOut, stopwatch.Elapsed.TotalMilliseconds);
            return new SandboxResult(
                exitCode, timedOut, stdout.Text, stderr.Text, stdout.DroppedBytes, stderr.DroppedBytes, stopwatch.Elapsed, isolation);
        }
        finally
        {
            KillTree(process, ownGroup, marker);
            _running.TryRemove(process.Id, out _);
        }
    }

    private static async Task WriteStandardInputAsync(Process process, string? input)
    {
        try
        {
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input).ConfigureAwait(false);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited (or closed stdin) before reading its input.
        }
    }

    private ProcessStartInfo BuildStartInfo(
        string program,
        IReadOnlyList<string> arguments,
        string workDir,
        string systemDir,
        IReadOnlyList<(string Relative, string HostPath)> inputs,
        SandboxIsolation isolation)
    {
        var startInfo = new ProcessStartInfo
        {
            WorkingDirectory = workDir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        var bubblewrap = isolation == SandboxIsolation.Bubblewrap;
        var environment = new List<(string Name, string Value)>
        {
            ("PATH", string.Join(':', _options.ProgramSearchPath)),
            ("HOME", bubblewrap ? BubblewrapLayout.WorkDirectory : workDir),
            ("TMPDIR", bubblewrap ? "/tmp" : workDir),
            ("LANG", "C.UTF-8"),
            ("PYTHONIOENCODING", "utf-8"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("PYTHONUNBUFFERED", "1"),
        };

        // Every mode starts under setsid (it execs the next program in place, same pid): the sandbox then sits in a
        // session of its own, outside the terminal's process group, so a Ctrl-C meant for agentrl does not kill the tool
        // call in flight.
        startInfo.FileName = FindTool("setsid");
        var args = startInfo.ArgumentList;
        args.Add("--wait");
        switch (isolation)
        {
            case SandboxIsolation.Bubblewrap:
                var seccomp = Path.Combine(systemDir, SeccompFileName);
                if (File.Exists(seccomp))
                {
                    // bwrap reads the filter from a file descriptor: sh opens the prepared file on fd 3, then execs bwrap.
                    args.Add(FindTool("sh"));
                    args.Add("-c");
                    args.Add("exec \"$@\" 3<\"$0\"");
                    args.Add(seccomp);
                }

                args.Add(FindTool("bwrap"));
                foreach (var arg in BubblewrapLayout.RootArguments(Path.Combine(systemDir, "etc"), program, _options.ScratchBytes, inputs))
                {
                    args.Add(arg);
                }

                foreach (var arg in new[]
                {
                    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                    "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv",
                })
                {
                    args.Add(arg);
                }

                foreach (var (name, value) in environment)
                {
                    args.Add("--setenv");
                    args.Add(name);
                    args.Add(value);
                }

                if (File.Exists(seccomp))
                {
                    args.Add("--seccomp");
                    args.Add("3");
                }

                if (Environment.IsPrivilegedProcess)
                {
                    // Root inside keeps only what prlimit and setpriv need (limits, the switch to the sandbox user); setpriv drops them.
                    foreach (var arg in new[] { "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_SYS_RESOURCE" })
                    {
                        args.Add(arg);
                    }
                }

                args.Add("--");
                args.Add(FindTool("prlimit"));
                break;
            case SandboxIsolation.NetworkNamespace:
                args.Add(FindTool("unshare"));
                args.Add("--net");
                args.Add("--");
                args.Add(FindTool("prlimit"));
                break;
            default:
                args.Add(FindTool("prlimit"));
                break;
        }

        // prlimit applies the limits to itself, then execs the program (no extra process stays around).
        args.Add(string.Create(CultureInfo.InvariantCulture, $"--cpu={_options.CpuSeconds}:{_options.CpuSeconds + 1}"));
        args.Add(string.Create(CultureInfo.InvariantCulture, $"--as={_options.MemoryBytes}"));
        args.Add(string.Create(CultureInfo.InvariantCulture, $"--fsize={_options.FileSizeBytes}"));
        args.Add(string.Create(CultureInfo.InvariantCulture, $"--nproc={_options.MaxProcesses}"));
        args.Add("--core=0");
        args.Add("--");
        if (Environment.IsPrivilegedProcess)
        {
            // Unprivileged from here on: another uid, no supplementary groups, every capability set (bounding and
            // inheritable included) emptied, and no-new-privs so that no setuid binary can bring any back.
            args.Add(FindTool("setpriv"));
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--reuid={_options.SandboxUserId}"));
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--regid={_options.SandboxUserId}"));
            args.Add("--clear-groups");
            args.Add("--inh-caps=-all");
            args.Add("--bounding-set=-all");
            args.Add("--no-new-privs");
            args.Add("--");
        }

        args.Add(program);
        foreach (var arg in arguments)
        {
            args.Add(arg);
        }

        // Nothing of the host's environment is inherited, in any mode.
        startInfo.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        return startInfo;
    }

    /// <summary>The host side of a bubblewrap run: its made-up <c>/etc</c> and, where there is one, the seccomp program.</summary>
    private void PrepareSystemDirectory(string systemDir)
    {
        BubblewrapLayout.WriteEtc(Path.Combine(systemDir, "etc"), Environment.IsPrivilegedProcess ? _options.SandboxUserId : GetUserId());
        if (Seccomp.Value is { } filter)
        {
            File.WriteAllBytes(Path.Combine(systemDir, SeccompFileName), filter);
        }
        else if (Interlocked.Exchange(ref _seccompWarned, 1) == 0)
        {
            LogNoSeccomp(_logger, RuntimeInformation.ProcessArchitecture);
        }
    }

    /// <summary>What to do when no mode that meets the options works: named in every such error.</summary>
    public const string InstallHint =
        "install bubblewrap and util-linux (Debian/Ubuntu: apt-get install bubblewrap util-linux; or run " +
        "tests/scripts/install-tool-deps.sh), or opt in to weaker isolation with AgentRl:Tools:Sandbox:AllowWeakerIsolation = true";

    private async Task<SandboxIsolation> ResolveIsolationAsync(CancellationToken cancellationToken)
    {
        var requested = _options.Isolation;
        if (requested == SandboxIsolation.ProcessOnly)
        {
            // Validate() refused this unless AllowWeakerIsolation is set.
            WarnOnce(() => LogWeaker(_logger, requested), "weaker " + requested);
            return requested;
        }

        if (requested is SandboxIsolation.Auto or SandboxIsolation.Bubblewrap)
        {
            var (ok, detail) = await ProbeBubblewrapAsync(cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                return SandboxIsolation.Bubblewrap;
            }

            if (requested == SandboxIsolation.Bubblewrap || !_options.AllowWeakerIsolation)
            {
                throw new InvalidOperationException(
                    $"the tool sandbox is unavailable: bubblewrap {detail}; {(requested == SandboxIsolation.Bubblewrap ? "isolation = Bubblewrap requires it: " : string.Empty)}{InstallHint}");
            }

            WarnOnce(() => LogFallback(_logger, "bubblewrap", "unshare -n", detail), "fallback bwrap");
        }

        var (netOk, netDetail) = await ProbeAsync(
            "unshare --net " + string.Join(':', _options.ToolSearchPath), () => TryFindTool("unshare") is { } unshare ? new ProcessStartInfo(unshare, ["--net", "--", "/bin/true"]) : null,
            cancellationToken).ConfigureAwait(false);
        if (netOk)
        {
            WarnOnce(() => LogWeaker(_logger, SandboxIsolation.NetworkNamespace), "weaker NetworkNamespace");
            return SandboxIsolation.NetworkNamespace;
        }

        if (requested == SandboxIsolation.NetworkNamespace)
        {
            throw new InvalidOperationException($"the tool sandbox is unavailable: unshare -n {netDetail}; {InstallHint}");
        }

        WarnOnce(() => LogFallback(_logger, "unshare -n", "a plain process (no network or file-system isolation)", netDetail), "fallback unshare");
        WarnOnce(() => LogWeaker(_logger, SandboxIsolation.ProcessOnly), "weaker ProcessOnly");
        return SandboxIsolation.ProcessOnly;
    }

    /// <summary>Logs a warning once per process (a sandbox is created per tool session).</summary>
    private static void WarnOnce(Action log, string key)
    {
        if (Warned.TryAdd(key, true))
        {
            log();
        }
    }

    /// <summary>Runs <c>true</c> exactly as a run would be started (same root, namespaces, seccomp, prlimit, setpriv).</summary>
    private async Task<(bool Ok, string Detail)> ProbeBubblewrapAsync(CancellationToken cancellationToken)
    {
        if (TryFindTool("bwrap") is not { } bwrap)
        {
            return (false, "(bwrap) is not installed");
        }

        var workDir = CreateWorkingDirectory();
        var systemDir = workDir + ".sys";
        try
        {
            PrepareSystemDirectory(systemDir);
            var program = TryFindTool("true") ?? "/bin/true";
            return await ProbeAsync(
                bwrap + " " + string.Join(':', _options.ToolSearchPath) + " " + _options.SandboxUserId.ToString(CultureInfo.InvariantCulture) + " " + _options.ScratchBytes.ToString(CultureInfo.InvariantCulture),
                () => BuildStartInfo(program, [], workDir, systemDir, [], SandboxIsolation.Bubblewrap),
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            DeleteWorkingDirectory(workDir);
            DeleteWorkingDirectory(systemDir);
        }
    }

    private async Task<(bool Ok, string Detail)> ProbeAsync(string key, Func<ProcessStartInfo?> startInfoFactory, CancellationToken cancellationToken)
    {
        if (ProbeResults.TryGetValue(key, out var cached))
        {
            return cached;
        }

        await ProbeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (ProbeResults.TryGetValue(key, out cached))
            {
                return cached;
            }

            (bool Ok, string Detail) result;
            ProcessStartInfo? startInfo;
            try
            {
                startInfo = startInfoFactory();
            }
            catch (InvalidOperationException ex)
            {
                startInfo = null;
                result = (false, ex.Message);
                ProbeResults[key] = result;
                return result;
            }

            if (startInfo is null)
            {
                result = (false, "is not installed");
            }
            else
            {
                startInfo.UseShellExecute = false;
                startInfo.RedirectStandardInput = false;
                startInfo.RedirectStandardOutput = true;
                startInfo.RedirectStandardError = true;

                // Through the launcher thread like every run: bwrap's --die-with-parent fires when the thread that forked
                // it exits, and a pool thread can exit while the probe runs (seen as a spurious SIGKILL, exit 137).
                using var process = new Process { StartInfo = startInfo };
                await Launcher.StartAsync(process).ConfigureAwait(false);
                var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
                _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                var message = (await stderr.ConfigureAwait(false)).Trim();
                result = process.ExitCode == 0
                    ? (true, string.Empty)
                    : (false, string.Create(CultureInfo.InvariantCulture, $"does not work on this host (exit {process.ExitCode}: {message})"));
                if (!result.Ok)
                {
                    LogProbeFailed(_logger, key, process.ExitCode, message);
                }
            }

            ProbeResults[key] = result;
            return result;
        }
        finally
        {
            ProbeLock.Release();
        }
    }

    private string ResolveProgram(string program)
    {
        if (Path.IsPathRooted(program))
        {
            return program;
        }

        foreach (var dir in _options.ProgramSearchPath)
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"program '{program}' not found in {string.Join(':', _options.ProgramSearchPath)} (run tests/scripts/install-tool-deps.sh)");
    }

    private string? TryFindTool(string name)
    {
        foreach (var dir in _options.ToolSearchPath)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private string FindTool(string name) =>
        TryFindTool(name) ?? throw new InvalidOperationException(
            $"'{name}' is not installed in {string.Join(':', _options.ToolSearchPath)}: {InstallHint}");

    private string CreateWorkingDirectory()
    {
        var root = Path.GetFullPath(_options.WorkingDirectoryRoot);
        Directory.CreateDirectory(root);
        var dir = Path.Combine(root, "run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);

        // The program may run as another user (SandboxUserId): the directory is its to write.
        const UnixFileMode all = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        SetMode(dir, all);
        return dir;
    }

    private void DeleteWorkingDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogCleanupFailed(_logger, dir, ex.Message);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static void KillTree(Process process, bool ownGroup, string? marker)
    {
        try
        {
            // The group outlives its leader while members remain, so its id cannot be reused by another group then.
            if (ownGroup)
            {
                _ = Kill(-process.Id, SigKill);
            }

            // Then walk the tree for anything that left the group (or, in bubblewrap mode, the namespace's init).
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started or already reaped.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
        catch (AggregateException)
        {
            // Some descendants exited while the tree was walked.
        }

        if (marker is not null)
        {
            KillByCommandLine(marker);
        }
    }

    /// <summary>SIGKILLs every process whose command line contains <paramref name="marker"/> (a unique path).</summary>
    private static void KillByCommandLine(string marker)
    {
        var needle = Encoding.UTF8.GetBytes(marker);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
                if (cmdline.AsSpan().IndexOf(needle) >= 0)
                {
                    _ = Kill(pid, SigKill);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
#pragma warning disable SYSLIB1054 // Blittable signature: DllImport needs no unsafe code, LibraryImport would.
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);

    [DllImport("libc", EntryPoint = "getuid")]
    private static extern int GetUserId();
#pragma warning restore SYSLIB1054

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sandbox ran {Program} ({Isolation}): exit {ExitCode}, timed out {TimedOut}, {ElapsedMs} ms")]
    private static partial void LogRun(ILogger logger, string program, SandboxIsolation isolation, int exitCode, bool timedOut, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox isolation {Wanted} is unavailable on this host ({Detail}); falling back to {Fallback} (AllowWeakerIsolation = true)")]
    private static partial void LogFallback(ILogger logger, string wanted, string fallback, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandboxed tools run with weaker isolation {Isolation} (AllowWeakerIsolation = true): the program sees the host's file system")]
    private static partial void LogWeaker(ILogger logger, SandboxIsolation isolation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No seccomp filter for {Architecture}: bubblewrap runs go without one")]
    private static partial void LogNoSeccomp(ILogger logger, Architecture architecture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox probe of {Tool} failed with exit code {ExitCode}: {Stderr}")]
    private static partial void LogProbeFailed(ILogger logger, string tool, int exitCode, string stderr);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove sandbox working directory {Directory}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string directory, string reason);

    /// <summary>
    /// Starts processes from one long-lived thread. bwrap's <c>--die-with-parent</c> (PR_SET_PDEATHSIG) fires when the
    /// parent <em>thread</em> ends, and thread-pool threads retire while idle: a sandbox started from one would be killed
    /// at a random moment.
    /// </summary>
    private static class Launcher
    {
        private static readonly System.Collections.Concurrent.BlockingCollection<(Process Process, TaskCompletionSource Started)> Queue = [];

        static Launcher()
        {
            var thread = new Thread(Run) { IsBackground = true, Name = "agentrl-sandbox-launcher" };
            thread.Start();
        }

        public static Task StartAsync(Process process)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Queue.Add((process, started));
            return started.Task;
        }

        private static void Run()
        {
            foreach (var (process, started) in Queue.GetConsumingEnumerable())
            {
                try
                {
                    SealInheritedDescriptors();
                    process.Start();
                    started.SetResult();
                }
                catch (Exception ex)
                {
                    started.SetException(ex);
                }
            }
        }
    }

    /// <summary>
    /// Marks close-on-exec every descriptor above 2 that this process inherited without it (from the shell, a test
    /// runner or a service manager): .NET opens its own with O_CLOEXEC, but an inherited one would otherwise pass
    /// through setsid, bwrap and setpriv into the sandboxed program, which could then read or write the host's pipes.
    /// </summary>
    private static void SealInheritedDescriptors()
    {
        const int setDescriptorFlags = 2; // F_SETFD
        const int closeOnExec = 1;        // FD_CLOEXEC
        const int openCloseOnExec = 0x80000; // O_CLOEXEC in fdinfo's octal "flags:"
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fdinfo"))
            {
                if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd) || fd <= 2)
                {
                    continue;
                }

                try
                {
                    var flags = File.ReadLines(entry).FirstOrDefault(l => l.StartsWith("flags:", StringComparison.Ordinal));
                    if (flags is not null && (Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & openCloseOnExec) == 0)
                    {
                        _ = Fcntl(fd, setDescriptorFlags, closeOnExec);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
                {
                    // Closed while we looked (or the descriptor used to read the directory itself).
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No /proc: nothing to seal.
        }
    }

    /// <summary>Reads a stream to its end, keeping the first <c>limit</c> bytes and counting the rest.</summary>
    private static class CappedReader
    {
        public static async Task<(string Text, long DroppedBytes)> ReadAsync(Stream stream, int limit, CancellationToken cancellationToken)
        {
            var kept = new MemoryStream();
            var buffer = new byte[16 * 1024];
            long dropped = 0;
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    var room = (int)Math.Min(read, limit - kept.Length);
                    if (room > 0)
                    {
                        kept.Write(buffer, 0, room);
                    }

                    dropped += read - Math.Max(room, 0);
                }
            }
            catch (IOException)
            {
                // The pipe broke when the process was killed: keep what was read.
            }
            catch (ObjectDisposedException)
            {
            }
            catch (OperationCanceledException)
            {
                // A pipe stayed open after the kill: keep what was read.
            }

            var text = Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
            return (dropped > 0 ? text + OutputLimiter.Marker(dropped, "bytes") : text, dropped);
        }
    }
}
