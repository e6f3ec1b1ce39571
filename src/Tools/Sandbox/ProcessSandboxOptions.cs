using AgentRl.Abstractions.Configuration;
namespace AgentRl.Tools.Sandbox;

/// <summary>How strongly a <see cref="ProcessSandbox"/> isolates the process it runs.</summary>
public enum SandboxIsolation
{
    /// <summary>
    /// <see cref="Bubblewrap"/>; when it does not work, an error, unless <see cref="ProcessSandboxOptions.AllowWeakerIsolation"/>
    /// allows falling back to <see cref="NetworkNamespace"/>, then <see cref="ProcessOnly"/> (logged as a warning).
    /// </summary>
    Auto,

    /// <summary>
    /// <c>bwrap</c>: a minimal root (<see cref="BubblewrapLayout"/>: read-only system directories and interpreter
    /// prefix, a made-up <c>/etc</c>, size-capped tmpfs working directory, <c>/tmp</c> and <c>/dev/shm</c>, nothing else
    /// of the host), new network, PID, IPC, UTS and cgroup namespaces, new session, a seccomp filter
    /// (<see cref="SeccompFilter"/>), capabilities dropped, killed with its parent. Plus everything of <see cref="ProcessOnly"/>.
    /// </summary>
    Bubblewrap,

    /// <summary><c>unshare -n</c>: no network; the file system is the host's (writes limited by user permissions only). Plus <see cref="ProcessOnly"/>.</summary>
    NetworkNamespace,

    /// <summary>
    /// A plain child process: rlimits (CPU seconds, address space, file size, process count), scrubbed environment,
    /// fresh working directory, own process group, wall-clock timeout and tree kill. No network or file-system isolation.
    /// </summary>
    ProcessOnly,
}

/// <summary>
/// Limits of a <see cref="ProcessSandbox"/>. Bound from configuration section <c>AgentRl:Tools:Sandbox</c>. The
/// wall-clock limit is not here: it is the sandbox's <see cref="ProcessSandbox.Timeout"/>, which a tool session sets to
/// its per-call timeout (<see cref="Catalog.ToolSessionContext.CallTimeout"/>, in training the run's
/// <c>limits.toolTimeoutSeconds</c>).
/// </summary>
public sealed class ProcessSandboxOptions
{
    public const string SectionName = "AgentRl:Tools:Sandbox";

    /// <summary>CPU seconds (RLIMIT_CPU soft; SIGXCPU, then SIGKILL one second later). Default 10.</summary>
    public int CpuSeconds { get; set; } = 10;

    /// <summary>Address-space limit in bytes (RLIMIT_AS): allocations beyond it fail (Python raises MemoryError). Default 512 MiB.</summary>
    public long MemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest file the process may write, in bytes (RLIMIT_FSIZE; SIGXFSZ beyond it). Default 16 MiB.</summary>
    public long FileSizeBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Process limit (RLIMIT_NPROC), counted per real user id. When the host runs as root the sandboxed process
    /// switches to <see cref="SandboxUserId"/> so that this limit applies (root ignores it). Default 64.
    /// </summary>
    public int MaxProcesses { get; set; } = 64;

    /// <summary>Bytes kept from each of stdout and stderr; the rest is drained, counted and replaced by a marker. Default 16 KiB.</summary>
    public int OutputLimitBytes { get; set; } = 16 * 1024;

    /// <summary>Requested isolation; <see cref="SandboxIsolation.Auto"/> picks the strongest available. Default Auto.</summary>
    public SandboxIsolation Isolation { get; set; } = SandboxIsolation.Auto;

    /// <summary>
    /// Fail closed (default false): with false, a host where bubblewrap does not work has no sandboxed tools (each call
    /// fails with an error naming what to install), and <see cref="Isolation"/> may not ask for a weaker mode. With
    /// true, <see cref="SandboxIsolation.Auto"/> falls back to <c>unshare -n</c>, then to a plain process, and
    /// <see cref="SandboxIsolation.NetworkNamespace"/> / <see cref="SandboxIsolation.ProcessOnly"/> may be asked for;
    /// either is logged as a warning when the silo starts and when the first run uses it.
    /// </summary>
    public bool AllowWeakerIsolation { get; set; }

    /// <summary>
    /// Size in bytes of each tmpfs a bubblewrap run writes to: its working directory, <c>/tmp</c> and <c>/dev/shm</c>
    /// (writes beyond it fail with ENOSPC; the memory is freed when the run ends). Default 64 MiB.
    /// </summary>
    public long ScratchBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>User (and group) id the process runs as when the host runs as root. Default 65534 (nobody).</summary>
    public int SandboxUserId { get; set; } = 65534;

    /// <summary>Where per-run working directories are created (and removed afterwards). Default: <c>$TMPDIR/agentrl-sandbox</c>.</summary>
    public string WorkingDirectoryRoot { get; set; } = Path.Combine(Path.GetTempPath(), "agentrl-sandbox");

    /// <summary>Directories searched, in order, for the program a run names without a path (PATH is not used).</summary>
    public IList<string> ProgramSearchPath { get; set; } = ["/usr/local/bin", "/usr/bin", "/bin"];

    /// <summary>
    /// Directories searched, in order, for the sandbox's own tools: <c>bwrap</c>, <c>setsid</c>, <c>prlimit</c>,
    /// <c>setpriv</c>, <c>unshare</c>, <c>sh</c> (PATH is not used).
    /// </summary>
    public IList<string> ToolSearchPath { get; set; } = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

    /// <summary>Every problem with the fields: each names the field (camelCase), its value and the allowed range.</summary>
    public IEnumerable<string> Problems()
    {
        var check = new OptionChecks();
        check.AtLeast(nameof(CpuSeconds), CpuSeconds, 1);
        check.AtLeast(nameof(MemoryBytes), MemoryBytes, 1);
        check.AtLeast(nameof(FileSizeBytes), FileSizeBytes, 1);
        check.AtLeast(nameof(MaxProcesses), MaxProcesses, 1);
        check.AtLeast(nameof(OutputLimitBytes), OutputLimitBytes, 1);
        check.AtLeast(nameof(SandboxUserId), SandboxUserId, 0);
        check.AtLeast(nameof(ScratchBytes), ScratchBytes, 1024 * 1024);
        if ((Isolation is SandboxIsolation.NetworkNamespace or SandboxIsolation.ProcessOnly) && !AllowWeakerIsolation)
        {
            check.Add(
                $"{OptionChecks.Camel(nameof(Isolation))} = {Isolation} is weaker than bubblewrap: set " +
                $"{OptionChecks.Camel(nameof(AllowWeakerIsolation))} = true to opt in");
        }
        check.Required(nameof(WorkingDirectoryRoot), WorkingDirectoryRoot);
        if (!Enum.IsDefined(Isolation))
        {
            check.Add($"{OptionChecks.Camel(nameof(Isolation))} = {Isolation} is not one of {string.Join(", ", Enum.GetNames<SandboxIsolation>())}");
        }

        if (ToolSearchPath is null || ToolSearchPath.Count == 0)
        {
            check.Add($"{OptionChecks.Camel(nameof(ToolSearchPath))} must list at least one directory");
        }

        if (ProgramSearchPath is null || ProgramSearchPath.Count == 0)
        {
            check.Add($"{OptionChecks.Camel(nameof(ProgramSearchPath))} must list at least one directory");
        }

        return check.Problems;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every <see cref="Problems"/> (call on start); returns this.</summary>
    public ProcessSandboxOptions Validate() => OptionChecks.ThrowIfAny(this, Problems(), "tools.sandbox");
}
