using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Cluster.Tests;

public sealed class ClientModelCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "agentrl-cli-model-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task ModelInitThenTokenize_TinyModel_PrintsTheTokenizersIds()
    {
        var init = await Processes.RunAsync("dotnet", [Processes.ClientDll, "model", "init", "--preset", "tiny", "--out", _dir], Timeout);
        Assert.True(init.ExitCode == 0, init.Stderr);

        const string text = "Use <tool_call> to add 12+30 — ok? 😀";
        var tokenize = await Processes.RunAsync("dotnet", [Processes.ClientDll, "model", "tokenize", "--model", _dir, text], Timeout);

        Assert.True(tokenize.ExitCode == 0, tokenize.Stderr);
        var expected = new ByteLevelTokenizer().Encode(text);
        Assert.Equal(string.Join(' ', expected), tokenize.Stdout.Trim());
        Assert.Contains(new ByteLevelTokenizer().TokenToId("<tool_call>")!.Value, expected);
    }

    [Fact]
    public async Task ModelTokenize_MissingDirectory_ExitsNonZeroWithTheReason()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "model", "tokenize", "--model", _dir, "x"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(_dir, result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
