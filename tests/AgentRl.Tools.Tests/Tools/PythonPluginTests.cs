using AgentRl.Abstractions.Chat;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Tools.Tests.Tools;

/// <summary><c>python-run</c> through the catalog, with real sandboxed processes.</summary>
[Collection(SandboxCollection.Name)]
public sealed class PythonPluginTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "agentrl-python-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Run_PrintAndTrailingExpression_ReturnsStdout()
    {
        using var session = OpenSession();

        var observation = await session.ExecuteAsync(Code("x = 2 ** 100\nprint('x is', x)\nx % 7"));

        Assert.False(observation.IsError, observation.Text);
        Assert.Equal("x is 1267650600228229401496703205376\n2", observation.Text);
    }

    [Fact]
    public async Task Run_PythonException_IsObservationWithTracebackAndExitCode()
    {
        using var session = OpenSession();

        var observation = await session.ExecuteAsync(Code("print('before')\n1 / 0"));

        Assert.False(observation.IsError);
        Assert.StartsWith("before\n[stderr]\nTraceback", observation.Text, StringComparison.Ordinal);
        Assert.Contains("ZeroDivisionError: division by zero", observation.Text, StringComparison.Ordinal);
        Assert.EndsWith("[exit code 1]", observation.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_InfiniteLoop_IsTimeoutErrorWithPartialOutput()
    {
        using var session = OpenSession(timeout: TimeSpan.FromSeconds(1));

        var observation = await session.ExecuteAsync(Code("print('working', flush=True)\nwhile True:\n    pass"));

        Assert.True(observation.IsError);
        Assert.Equal(ToolErrorKinds.Timeout, observation.ErrorKind);
        Assert.Equal("Python timed out after 1 s and was killed.\nworking", observation.Text);
        Assert.InRange(observation.LatencyMs, 900, 2000);
    }

    [Fact]
    public async Task Run_CpuLimit_IsResourceLimitError()
    {
        using var session = OpenSession(o => o.Sandbox.CpuSeconds = 1);

        var observation = await session.ExecuteAsync(Code("while True:\n    pass"));

        Assert.Equal(ToolErrorKinds.ResourceLimit, observation.ErrorKind);
        Assert.Contains("CPU time limit of 1 s", observation.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FileBomb_FailsAtFileSizeLimit()
    {
        using var session = OpenSession(o => o.Sandbox.FileSizeBytes = 1024 * 1024);

        // Python ignores SIGXFSZ, so the write past RLIMIT_FSIZE fails with EFBIG and the model reads the traceback.
        var observation = await session.ExecuteAsync(Code("import os\nwith open('big', 'wb') as f:\n    f.write(b'x' * 2_000_000)"));

        Assert.Contains("OSError: [Errno 27] File too large", observation.Text, StringComparison.Ordinal);
        Assert.EndsWith("[exit code 1]", observation.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_LongOutput_IsTruncatedWithMarkers()
    {
        using var session = OpenSession(o => o.MaxOutputChars = 2000);

        var observation = await session.ExecuteAsync(Code("print('z' * 100_000)"));

        Assert.False(observation.IsError);
        Assert.Equal(ToolErrorKinds.OutputTruncated, observation.ErrorKind);
        // The sandbox keeps 16384 bytes + its 24-character marker (16408 chars); the catalog shows 2000 of them.
        Assert.Equal(new string('z', 2000) + "…[truncated 14408 chars]", observation.Text);
    }

    [Fact]
    public async Task Run_TagTriggerCall_RunsCode()
    {
        using var session = OpenSession();
        var call = Assert.Single(new ToolCallParser().Parse("<think>multiply</think><python>\nprint(6 * 7)\n</python>").Calls);

        var observation = await session.ExecuteAsync(call);

        Assert.Equal("42", observation.Text);
    }

    private ToolSession OpenSession(Action<ToolCatalogOptions>? configure = null, TimeSpan? timeout = null)
    {
        var options = new ToolCatalogOptions();
        options.Sandbox.WorkingDirectoryRoot = _root;
        configure?.Invoke(options);
        var context = new ToolSessionContext { CallTimeout = timeout ?? TimeSpan.FromSeconds(ToolSessionContext.DefaultCallTimeoutSeconds) };
        return new ToolCatalog(options).OpenSession(["python-run"], context);
    }

    private static ToolCall Code(string code) =>
        new("python-run", System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["code"] = code }));
}
