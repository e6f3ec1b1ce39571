using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AgentRl.Tools.Sandbox;

/// <summary>
/// The file system a bubblewrap run sees, as <c>bwrap</c> arguments: a minimal root built from nothing, not the host's
/// <c>/</c>. Read-only: <c>/usr</c>, <c>/bin</c>, <c>/sbin</c> and <c>/lib*</c> (symbolic links where the host has
/// merged them into <c>/usr</c>), and the prefix of an interpreter that lives elsewhere (<see cref="ProgramBinds"/>);
/// a made-up <c>/etc</c> (<see cref="WriteEtc"/>). Fresh and size-capped (tmpfs): <c>/tmp</c>, <c>/dev/shm</c> and the
/// working directory <see cref="WorkDirectory"/>, where the run's input files are bound read-only. A new <c>/proc</c>
/// (of the sandbox's PID namespace only) and a minimal <c>/dev</c>. Nothing else of the host exists inside: no home,
/// no <c>/root</c>, no <c>/opt</c>, no repository or run folder, no host <c>/tmp</c>.
/// </summary>
public static class BubblewrapLayout
{
    /// <summary>The working directory inside the sandbox (HOME too).</summary>
    public const string WorkDirectory = "/work";

    /// <summary>Host directories bound read-only when they are real directories (or recreated as links when they are links).</summary>
    public static IReadOnlyList<string> SystemDirectories { get; } = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    /// <summary>The made-up files of the sandbox's <c>/etc</c>: name → content. <paramref name="userId"/> is the sandbox user.</summary>
    public static IReadOnlyDictionary<string, string> EtcFiles(int userId)
    {
        var uid = userId.ToString(CultureInfo.InvariantCulture);
        var passwd = new StringBuilder("root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n");
        var group = new StringBuilder("root:x:0:\n");
        if (userId != 0)
        {
            passwd.Append(CultureInfo.InvariantCulture, $"sandbox:x:{uid}:{uid}:sandbox:{WorkDirectory}:/usr/sbin/nologin\n");
            group.Append(CultureInfo.InvariantCulture, $"sandbox:x:{uid}:\n");
        }

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["passwd"] = passwd.ToString(),
            ["group"] = group.ToString(),
            ["hosts"] = "127.0.0.1 localhost\n::1 localhost\n",
            ["resolv.conf"] = "# no network in the sandbox\n",
            ["nsswitch.conf"] = "passwd: files\ngroup: files\nhosts: files\n",
        };
    }

    /// <summary>Writes <see cref="EtcFiles"/> into <paramref name="directory"/> (world-readable, for the sandbox user).</summary>
    public static void WriteEtc(string directory, int userId)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, content) in EtcFiles(userId))
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, content);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
        }
    }

    /// <summary>
    /// The root-file-system arguments: system directories, <c>/etc</c> from <paramref name="etcDirectory"/>, the
    /// interpreter's prefix, <c>/proc</c>, <c>/dev</c>, the tmpfs scratch areas (each <paramref name="scratchBytes"/>)
    /// and the input files (relative name → host path), bound read-only into <see cref="WorkDirectory"/>.
    /// </summary>
    public static List<string> RootArguments(
        string etcDirectory, string program, long scratchBytes, IEnumerable<(string Relative, string HostPath)> inputs)
    {
        var args = new List<string>();
        foreach (var dir in SystemDirectories)
        {
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is { } target)
            {
                args.AddRange(["--symlink", target, dir]);
            }
            else if (info.Exists)
            {
                args.AddRange(["--ro-bind", dir, dir]);
            }
        }

        args.AddRange(["--dir", "/etc"]);
        foreach (var name in EtcFiles(0).Keys)
        {
            args.AddRange(["--ro-bind", Path.Combine(etcDirectory, name), "/etc/" + name]);
        }

        if (File.Exists("/usr/share/zoneinfo/UTC"))
        {
            args.AddRange(["--symlink", "/usr/share/zoneinfo/UTC", "/etc/localtime"]);
        }

        var size = scratchBytes.ToString(CultureInfo.InvariantCulture);
        args.AddRange(["--proc", "/proc", "--dev", "/dev"]);
        args.AddRange(["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]);
        args.AddRange(["--perms", "1777", "--size", size, "--tmpfs", "/tmp"]);
        args.AddRange(["--perms", "0777", "--size", size, "--tmpfs", WorkDirectory]);

        // After the tmpfs mounts, so that an interpreter installed under /tmp is not hidden by the fresh /tmp.
        foreach (var bind in ProgramBinds(program))
        {
            args.AddRange(["--ro-bind", bind, bind]);
        }

        foreach (var (relative, hostPath) in inputs)
        {
            args.AddRange(["--ro-bind", hostPath, WorkDirectory + "/" + relative.Replace('\\', '/')]);
        }

        args.AddRange(["--chdir", WorkDirectory]);
        return args;
    }

    /// <summary>
    /// What must be bound for <paramref name="program"/> to run when its real path (symbolic links resolved) is outside
    /// the <see cref="SystemDirectories"/> (the path as named and its real path, each): its prefix (the parent of its <c>bin</c> directory, e.g. a pyenv version
    /// directory), or only its own directory when that parent is <c>/</c> or a top-level directory such as <c>/opt</c>.
    /// Empty for a program under <c>/usr</c> and the like.
    /// </summary>
    public static IReadOnlyList<string> ProgramBinds(string program)
    {
        var binds = new List<string>();
        foreach (var path in new[] { program, RealPath(program) ?? program })
        {
            if (!IsUnderSystemDirectory(path) && Prefix(path) is var prefix && !binds.Contains(prefix))
            {
                binds.Add(prefix);
            }
        }

        return binds;
    }

    private static string Prefix(string path)
    {
        var dir = Path.GetDirectoryName(path) ?? "/";
        var parent = Path.GetDirectoryName(dir);
        var prefix = Path.GetFileName(dir) == "bin" && parent is not null && Path.GetDirectoryName(parent) is { } grand && grand != "/"
            ? parent
            : dir;
        return prefix == "/" ? path : prefix;
    }

    private static bool IsUnderSystemDirectory(string path) =>
        SystemDirectories.Any(dir => path.StartsWith(dir + "/", StringComparison.Ordinal));

    /// <summary>realpath(3): every symbolic link of every component resolved; null when the path does not exist.</summary>
    public static string? RealPath(string path)
    {
        var resolved = NativeRealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
#pragma warning disable SYSLIB1054 // DllImport needs no unsafe code, LibraryImport would.
    private static extern IntPtr NativeRealPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void Free(IntPtr pointer);
#pragma warning restore SYSLIB1054
}
