using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AgentRl.Tools.Sandbox;

/// <summary>
/// The seccomp program bubblewrap loads (<c>--seccomp FD</c>) for a sandboxed run: classic BPF over
/// <c>struct seccomp_data</c>, built here instruction by instruction. It allows every system call except those a
/// Python snippet has no business making, which fail with <c>EPERM</c>: tracing other processes, mounting, new
/// namespaces (<c>unshare</c>, <c>setns</c>, <c>clone</c> with a <c>CLONE_NEW*</c> flag), loading kernel modules or
/// BPF programs, keyrings, <c>perf_event_open</c>, <c>userfaultfd</c>, <c>io_uring</c>, clock changes, reboot, swap,
/// handle-based opens and raw I/O ports. <c>clone3</c> fails with <c>ENOSYS</c> (its flags sit in memory, out of the
/// filter's reach), so the C library falls back to <c>clone</c>, whose flags are checked. A call through another
/// architecture's ABI (i386 <c>int 0x80</c>, x32) kills the process. Only x86-64 has a table here; on other
/// architectures <see cref="ForCurrentArchitecture"/> is null and runs go without the filter (logged once).
/// </summary>
public static class SeccompFilter
{
    private const uint AuditArchX8664 = 0xC000003E;
    private const uint X32SyscallBit = 0x40000000;

    private const ushort LoadWordAbsolute = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private const ushort JumpEqual = 0x15;        // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JumpGreaterEqual = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    private const ushort JumpSet = 0x45;          // BPF_JMP | BPF_JSET | BPF_K
    private const ushort Return = 0x06;           // BPF_RET | BPF_K

    private const uint RetAllow = 0x7FFF0000;
    private const uint RetKillProcess = 0x80000000;
    private const uint RetErrno = 0x00050000;

    private const uint OffsetNr = 0;
    private const uint OffsetArch = 4;
    private const uint OffsetArg0Low = 16;

    /// <summary>errno EPERM: what a blocked call returns.</summary>
    public const int Eperm = 1;

    /// <summary>errno ENOSYS: what <c>clone3</c> returns.</summary>
    public const int Enosys = 38;

    /// <summary>CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME.</summary>
    public const uint CloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;

    private const uint X8664Clone = 56;
    private const uint X8664Clone3 = 435;

    /// <summary>x86-64 system calls that fail with EPERM, by name (the numbers are the kernel's x86-64 table).</summary>
    public static IReadOnlyDictionary<string, uint> BlockedX8664 { get; } = new Dictionary<string, uint>(StringComparer.Ordinal)
    {
        ["ptrace"] = 101,
        ["syslog"] = 103,
        ["uselib"] = 134,
        ["vhangup"] = 153,
        ["pivot_root"] = 155,
        ["_sysctl"] = 156,
        ["adjtimex"] = 159,
        ["chroot"] = 161,
        ["acct"] = 163,
        ["settimeofday"] = 164,
        ["mount"] = 165,
        ["umount2"] = 166,
        ["swapon"] = 167,
        ["swapoff"] = 168,
        ["reboot"] = 169,
        ["iopl"] = 172,
        ["ioperm"] = 173,
        ["create_module"] = 174,
        ["init_module"] = 175,
        ["delete_module"] = 176,
        ["quotactl"] = 179,
        ["lookup_dcookie"] = 212,
        ["clock_settime"] = 227,
        ["kexec_load"] = 246,
        ["add_key"] = 248,
        ["request_key"] = 249,
        ["keyctl"] = 250,
        ["unshare"] = 272,
        ["perf_event_open"] = 298,
        ["name_to_handle_at"] = 303,
        ["open_by_handle_at"] = 304,
        ["clock_adjtime"] = 305,
        ["setns"] = 308,
        ["process_vm_readv"] = 310,
        ["process_vm_writev"] = 311,
        ["finit_module"] = 313,
        ["kexec_file_load"] = 320,
        ["bpf"] = 321,
        ["userfaultfd"] = 323,
        ["io_uring_setup"] = 425,
        ["io_uring_enter"] = 426,
        ["io_uring_register"] = 427,
        ["open_tree"] = 428,
        ["move_mount"] = 429,
        ["fsopen"] = 430,
        ["fsconfig"] = 431,
        ["fsmount"] = 432,
        ["fspick"] = 433,
        ["mount_setattr"] = 442,
    };

    /// <summary>The filter for the architecture this process runs on, or null when there is no table for it.</summary>
    public static byte[]? ForCurrentArchitecture() =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64 ? BuildX8664() : null;

    /// <summary>The x86-64 program: 8 bytes per instruction (code u16, jt u8, jf u8, k u32), little-endian.</summary>
    public static byte[] BuildX8664()
    {
        var program = new List<(ushort Code, byte Jt, byte Jf, uint K)>
        {
            // A foreign ABI would index another syscall table: kill.
            (LoadWordAbsolute, 0, 0, OffsetArch),
            (JumpEqual, 1, 0, AuditArchX8664),
            (Return, 0, 0, RetKillProcess),
            (LoadWordAbsolute, 0, 0, OffsetNr),
            (JumpGreaterEqual, 0, 1, X32SyscallBit),
            (Return, 0, 0, RetKillProcess),
        };

        foreach (var nr in BlockedX8664.Values.Order())
        {
            program.Add((JumpEqual, 0, 1, nr));
            program.Add((Return, 0, 0, RetErrno | Eperm));
        }

        program.Add((JumpEqual, 0, 1, X8664Clone3));
        program.Add((Return, 0, 0, RetErrno | Enosys));

        // clone(flags, ...): flags is the first argument (its low 32 bits hold every CLONE_NEW* flag).
        program.Add((JumpEqual, 0, 3, X8664Clone));
        program.Add((LoadWordAbsolute, 0, 0, OffsetArg0Low));
        program.Add((JumpSet, 0, 1, CloneNamespaceFlags));
        program.Add((Return, 0, 0, RetErrno | Eperm));
        program.Add((Return, 0, 0, RetAllow));

        var bytes = new byte[program.Count * 8];
        for (var i = 0; i < program.Count; i++)
        {
            var (code, jt, jf, k) = program[i];
            var slot = bytes.AsSpan(i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(slot, code);
            slot[2] = jt;
            slot[3] = jf;
            BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], k);
        }

        return bytes;
    }
}
