using System.Runtime.InteropServices;

namespace AgentRl.Cli.Commands;

/// <summary>
/// Ctrl-C and SIGTERM for every command. The first signal cancels <see cref="Token"/> (the command stops gracefully: a
/// training run after the step in flight, a warm start at its next batch) and says so at once; a second one exits at once
/// with code 130 and a line saying what was kept. The process's own handlers (the host's console lifetime, the command
/// line parser's) are not used, so that no signal is swallowed.
/// </summary>
public sealed partial class CliSignals : IDisposable
{
    /// <summary>The exit code of an interrupted command (128 + SIGINT).</summary>
    public const int InterruptedExitCode = 130;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _error;
    private int _signals;

    private CliSignals(TextWriter error) => _error = error;

    /// <summary>Signals that were never registered: for tests and embedding, where the host owns the signals.</summary>
    public static CliSignals None { get; } = new(TextWriter.Null);

    /// <summary>Cancelled at the first Ctrl-C or SIGTERM.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Whether a signal asked the command to stop.</summary>
    public bool Interrupted => _signals > 0;

    /// <summary>What the command says at the first signal (after "agentrl: "); set by a command that knows more.</summary>
    public Func<string> Stopping { get; set; } = () => "stopping";

    /// <summary>What the command says it kept when a second signal exits at once.</summary>
    public Func<string> Kept { get; set; } = () => "nothing to keep";

    /// <summary>Handles SIGINT and SIGTERM from now on, reporting on <paramref name="error"/>.</summary>
    public static CliSignals Register(TextWriter error)
    {
        var signals = new CliSignals(error);
        signals._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, signals.Handle));
        signals._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, signals.Handle));
        return signals;
    }

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            _error.WriteLine($"agentrl: {Describe(Stopping)} (press Ctrl-C again to exit at once)");
            _error.Flush();
            _stop.Cancel();
            return;
        }

        _error.WriteLine($"agentrl: interrupted; {Describe(Kept)}");
        _error.Flush();

        // Exit now, without the managed exit handlers: they would wait on (or, with native torch threads mid-batch, crash
        // under) the work the first signal is stopping. What is on disk is what the last checkpoint wrote.
        Console.Out.Flush();
        ExitNow(InterruptedExitCode);
    }

    private static string Describe(Func<string> describe)
    {
        try
        {
            return describe();
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);

    public void Dispose()
    {
        _registrations.ForEach(r => r.Dispose());
        _registrations.Clear();
    }
}
