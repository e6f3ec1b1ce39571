using System.ComponentModel;
using System.Globalization;
using System.Text;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Sandbox;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Plugins;

/// <summary>
/// Runs Python 3 in a <see cref="ProcessSandbox"/> (<c>python-run</c>). Each call is a fresh process in a fresh
/// directory: no state carries over between calls. Its wall-clock limit is the sandbox's timeout, which is the tool
/// session's per-call timeout (<see cref="ToolSessionContext.CallTimeout"/>). As in ARPO, the value of a final bare expression is printed.
/// Output: stdout, then stderr under <c>[stderr]</c> when not empty, then <c>[exit code N]</c> when not 0 (a Python
/// error is a normal observation: the model reads the traceback). A timeout or a killed-by-limit run is an error
/// (<see cref="ToolErrorKinds.Timeout"/>, <see cref="ToolErrorKinds.ResourceLimit"/>). Python ignores SIGXFSZ, so a
/// write past the file-size limit fails inside Python (<c>OSError: [Errno 27] File too large</c>) and comes back as a
/// traceback; a memory bomb likewise ends in <c>MemoryError</c> and a fork bomb in <c>BlockingIOError</c>.
/// </summary>
public sealed class PythonPlugin(ProcessSandbox sandbox)
{
    /// <summary>The interpreter (looked up in the sandbox's program search path, not PATH).</summary>
    public const string Interpreter = "python3";

    private const string ScriptName = "main.py";

    // Runs main.py; a trailing bare expression is evaluated and printed (ARPO's rewrite, done on the syntax tree).
    private const string Bootstrap = """
        import ast, sys
        sys.argv = ["main.py"]
        with open("main.py", encoding="utf-8") as f:
            source = f.read()
        tree = ast.parse(source, "main.py", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        scope = {"__name__": "__main__", "__builtins__": __builtins__}
        del ast, f, source
        exec(compile(tree, "main.py", "exec"), scope)
        if last is not None:
            value = eval(compile(last, "main.py", "eval"), scope)
            if value is not None:
                print(value)
        """;

    [KernelFunction("run")]
    [Description(
        "Runs Python 3 code in a sandbox without network access and returns what it prints (stdout, and stderr on " +
        "errors). The value of a final bare expression is printed. Each call starts a fresh interpreter.")]
    public async Task<string> RunAsync(
        [Description("Python 3 source code to run")] string code,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        var options = sandbox.Options;
        var result = await sandbox.RunAsync(
            new SandboxRequest(Interpreter, ["-I", "-B", "-c", Bootstrap], new Dictionary<string, string> { [ScriptName] = code }),
            cancellationToken).ConfigureAwait(false);

        var output = Describe(result);
        if (result.TimedOut)
        {
            throw new ToolErrorException(
                ToolErrorKinds.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"Python timed out after {sandbox.Timeout.TotalSeconds:0.###} s and was killed.") + Suffix(output));
        }

        return result.Signal switch
        {
            24 => throw new ToolErrorException(
                ToolErrorKinds.ResourceLimit,
                $"Python exceeded the CPU time limit of {options.CpuSeconds} s and was killed." + Suffix(output)),
            9 => throw new ToolErrorException(
                ToolErrorKinds.ResourceLimit,
                $"Python was killed (SIGKILL): it reached the hard CPU limit of {options.CpuSeconds + 1} s or the sandbox was stopped." + Suffix(output)),
            25 => throw new ToolErrorException(
                ToolErrorKinds.ResourceLimit,
                $"Python exceeded the file size limit of {options.FileSizeBytes} bytes and was killed." + Suffix(output)),
            { } signal => throw new ToolErrorException(
                ToolErrorKinds.ResourceLimit,
                $"Python was killed by signal {signal}." + Suffix(output)),
            null => result.ExitCode == 0
                ? (output.Length == 0 ? "(no output)" : output)
                : output + (output.Length == 0 ? string.Empty : "\n") + $"[exit code {result.ExitCode}]",
        };
    }

    private static string Describe(SandboxResult result)
    {
        var text = new StringBuilder(result.Stdout.TrimEnd('\n'));
        var stderr = result.Stderr.TrimEnd('\n');
        if (stderr.Length > 0)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append("[stderr]\n").Append(stderr);
        }

        return text.ToString();
    }

    private static string Suffix(string output) => output.Length == 0 ? string.Empty : "\n" + output;
}
