using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// Every mistake a user can make on the command line, as a real <c>agentrl</c> process in an empty folder: it is caught
/// before anything runs, with the README's exit code, one message naming the input (and the likely intent), no .NET
/// exception text, and no run folder left behind.
/// </summary>
public sealed class CliValidationTableTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _folder = Directory.CreateTempSubdirectory("agentrl-validation-").FullName;

    public static TheoryData<string, string[], int, string[], string[]> Cases() => new()
    {
        // name, arguments, exit code, what stderr says, what it must not say
        { "unknown task", ["train", "--task", "nope"], 2, ["unknown task 'nope'", "arithmetic, jsonl, kb-multihop, python-math"], [] },
        { "misspelt task", ["train", "--task", "aritmetic"], 2, ["Did you mean 'arithmetic'?"], [] },
        { "unknown task, --print-config", ["train", "--task", "nope", "--print-config"], 2, ["unknown task 'nope'"], [] },
        { "unknown algorithm", ["train", "--algorithm", "nope"], 2, ["unknown algorithm 'nope'", "grpo"], [] },
        { "misspelt algorithm", ["train", "--algorithm", "gpro", "--print-config"], 2, ["Did you mean 'grpo'?"], [] },
        { "unknown task option", ["train", "--set", "taskOptions.NoSuchOption=3"], 2, ["taskOptions.NoSuchOption", "maxOperations"], [] },
        { "misspelt task option", ["train", "--set", "taskOptions.maxOperatons=3", "--print-config"], 2, ["Did you mean 'maxOperations'?"], [] },
        { "ill-typed task option", ["train", "--set", "taskOptions.maxDigits=ten"], 2, ["taskOptions.maxDigits = 'ten'", "whole number"], ["Int32"] },
        { "task option out of range", ["train", "--set", "taskOptions.maxDigits=12"], 2, ["maxDigits <= 9"], [] },
        { "ill-typed field", ["train", "--set", "steps=abc"], 2, ["configuration field 'steps'", "whole number"], ["line", "LineNumber"] },
        { "ill-typed option", ["train", "--steps", "abc"], 2, ["--steps: 'abc' is not valid; expected a whole number"], ["System.", "Nullable"] },
        { "misspelt option", ["train", "--stpes", "3"], 2, ["unknown option '--stpes'", "Did you mean '--steps'?"], ["Unrecognized", "'3'"] },
        { "misspelt option before another", ["train", "--stpes", "--print-config"], 2, ["unknown option '--stpes'", "Did you mean '--steps'?"], ["Could not find file"] },
        { "misspelt field", ["train", "--set", "stpes=3"], 2, ["unknown configuration field 'stpes'", "Did you mean 'steps'?"], [] },
        { "invalid JSON file", ["train", "bad.json"], 2, ["bad.json: not valid JSON (line 4, column 1)"], [] },
        { "number as a string", ["train", "string-steps.json"], 2, ["configuration field 'steps': \"3\"", "whole number"], [] },
        { "missing file", ["train", "missing.json"], 2, ["configuration file missing.json not found"], ["Could not find file"] },
        { "one broken rule", ["train", "--set", "limits.contextBudget=-5"], 2, ["limits.contextBudget = -5 is outside the allowed range [16, ∞)"], ["maxTurns", "maxNewTokensPerTurn"] },
        { "unknown run", ["runs", "status", "does-not-exist"], 2, ["run 'does-not-exist' is neither known to the cluster nor found"], [] },
        { "unknown run to stop", ["runs", "stop", "does-not-exist"], 2, ["does not know run 'does-not-exist'"], [] },
        { "misspelt command", ["runs", "lst"], 2, ["unknown command 'lst'", "Did you mean 'list'?"], ["Required command"] },
        { "unknown split", ["tasks", "sample", "arithmetic", "--split", "test"], 2, ["--split: 'test' is not valid; expected train or eval"], [] },
        { "unknown template", ["tasks", "sample", "arithmetic", "--template", "llama"], 2, ["Unknown chat template 'llama'. Known: qwen2.5, compact."], ["\t"] },
        { "missing checkpoint", ["eval", "--checkpoint", "/nonexistent"], 2, ["/nonexistent does not exist"], ["config.json"] },
        { "unknown run to evaluate", ["eval", "--run", "does-not-exist"], 2, ["no run 'does-not-exist'"], [] },
        { "unknown run to show", ["runs", "show", "does-not-exist"], 2, ["no run 'does-not-exist'"], [] },
        { "bad cluster", ["--cluster", "zookeeper://x", "train"], 2, ["--cluster 'zookeeper://x' is not understood"], [] },
        { "unreachable Redis", ["--cluster", "redis://127.0.0.1:{port}", "train", "--steps", "1"], 3, ["cannot reach Redis at 127.0.0.1:{port} — is it running?", "--cluster"], ["abortConnect"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInput_IsRefusedUpFront_NamingIt(string name, string[] args, int exitCode, string[] says, string[] saysNot)
    {
        File.WriteAllText(Path.Combine(_folder, "bad.json"), "{\n  \"steps\": 3,\n  \"task\": \n}\n");
        File.WriteAllText(Path.Combine(_folder, "string-steps.json"), "{\"steps\": \"3\"}");
        var port = Processes.FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture);   // nothing listens there
        string Fill(string text) => text.Replace("{port}", port, StringComparison.Ordinal);

        var (code, stdout, stderr) = await Processes.RunAsync("dotnet", [Processes.ClientDll, .. args.Select(Fill)], Timeout, _folder);

        Assert.True(code == exitCode, $"{name}: exit {code}, expected {exitCode}; stderr:\n{stderr}");
        foreach (var text in says.Select(Fill))
        {
            Assert.True(stderr.Contains(text, StringComparison.Ordinal), $"{name}: stderr should say \"{text}\":\n{stderr}");
        }

        foreach (var text in saysNot.Concat(["(Parameter", "Exception", "   at "]))
        {
            Assert.False(stderr.Contains(text, StringComparison.Ordinal), $"{name}: stderr should not say \"{text}\":\n{stderr}");
        }

        Assert.True(stdout.Length == 0, $"{name}: nothing belongs on stdout:\n{stdout}");
        Assert.False(Directory.Exists(Path.Combine(_folder, "runs")), $"{name}: no run folder may be created");
    }

    [Fact]
    public async Task Help_ShowsTheOptionalConfigAsOptional_AndEachDefaultOnce()
    {
        var root = await Processes.RunAsync("dotnet", [Processes.ClientDll, "--help"], Timeout, _folder);
        var sample = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "--help"], Timeout, _folder);
        var status = await Processes.RunAsync("dotnet", [Processes.ClientDll, "runs", "status", "--help"], Timeout, _folder);
        var eval = await Processes.RunAsync("dotnet", [Processes.ClientDll, "eval", "--help"], Timeout, _folder);

        Assert.Equal(0, root.ExitCode);
        Assert.Matches(@"\n  train \[config\] +Train", root.Stdout);
        Assert.Matches(@"\n  sft \[config\] +Warm start", root.Stdout);
        Assert.DoesNotContain("train <config>", root.Stdout, StringComparison.Ordinal);
        Assert.Contains("--split <split>", sample.Stdout, StringComparison.Ordinal);
        Assert.Contains("[default: train]", sample.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Eval|Train", sample.Stdout, StringComparison.Ordinal);
        foreach (var help in new[] { root.Stdout, sample.Stdout, status.Stdout, eval.Stdout })
        {
            Assert.DoesNotMatch(@"\(default [^)]*\)[^\n]*\[default: ", help);
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
