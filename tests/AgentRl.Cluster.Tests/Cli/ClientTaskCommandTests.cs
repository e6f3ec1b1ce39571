using System.Text.RegularExpressions;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary><c>agentrl tasks …</c> as a real process (no cluster: tasks and tools run in the client).</summary>
public sealed partial class ClientTaskCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TasksList_ShowsTheBundledTasksWithToolsAndOptionDefaults()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "list"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal(["arithmetic", "jsonl", "kb-multihop", "python-math"], lines.Where(l => l.Length > 0 && !l.StartsWith(' ')));
        Assert.Contains("  tools: kb-search", lines);
        Assert.Contains("  tools: calculator-evaluate", lines);
        Assert.Contains("  tools: python-run", lines);
        Assert.Contains(lines, l => l.StartsWith("  options: ", StringComparison.Ordinal) && l.Contains("evalModulus=5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TasksSample_KbMultihop_ShowsTwoOrMoreSearchesWithRealObservationsAndTheAnswer()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "kb-multihop", "--n", "1"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var output = result.Stdout.ReplaceLineEndings("\n");
        var answer = AnswerPattern().Match(output).Groups[1].Value;
        Assert.NotEmpty(answer);
        var calls = CallPattern().Matches(output);
        Assert.InRange(calls.Count, 2, 3);
        Assert.All(calls, call => Assert.Equal("kb-search", call.Groups[1].Value));

        // BM25 observations: numbered documents; the last one states the answer.
        var observations = ObservationPattern().Matches(output);
        Assert.Equal(calls.Count, observations.Count);
        Assert.All(observations, o => Assert.StartsWith("[1] ", o.Groups[1].Value, StringComparison.Ordinal));
        Assert.Contains(answer, observations[^1].Groups[1].Value, StringComparison.Ordinal);

        // The rendered demonstration: compact template with the tool schema, the calls and the tagged answer.
        Assert.Contains("tools: kb-search(query, k)", output, StringComparison.Ordinal);
        Assert.Equal(calls.Count, Regex.Count(output, "<tool_response>"));
        Assert.Contains($"<answer>{answer}</answer><|end|>", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TasksSample_Arithmetic_CalculatorObservationEqualsTheAnswer()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "arithmetic", "--n", "2", "--seed", "7", "--template", "qwen2.5"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var output = result.Stdout.ReplaceLineEndings("\n");
        var items = output.Split("=== arithmetic ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, items.Length);
        foreach (var item in items)
        {
            var answer = AnswerPattern().Match(item).Groups[1].Value;
            Assert.Equal("calculator-evaluate", Assert.Single(CallPattern().Matches(item)).Groups[1].Value);
            Assert.Equal(answer, Assert.Single(ObservationPattern().Matches(item)).Groups[1].Value.Trim());
            Assert.Contains($"<tool_response>\n{answer}\n</tool_response>", item, StringComparison.Ordinal);
            Assert.Contains("<|im_start|>assistant\n<tool_call>", item, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TasksSample_UnknownOption_ExitsTwoNamingTheOptions()
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "arithmetic", "--set", "Nope=1"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("taskOptions.Nope: task 'arithmetic' has no such option", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("maxOperations", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TasksSample_Jsonl_ShowsTheFilesItemsAndTheirDirectAnswerDemonstrations()
    {
        using var dir = new Reporting.TempDirectory();
        var path = dir.Combine("capitals.jsonl");
        await File.WriteAllLinesAsync(path,
        [
            """{"prompt": "Capital of France?", "answer": "Paris", "split": "train"}""",
            """{"prompt": "Capital of Italy?", "answer": "Rome", "split": "train"}""",
            """{"prompt": "Capital of Spain?", "answer": "Madrid", "split": "eval"}""",
        ]);

        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "jsonl", "--set", $"path={path}", "--set", "systemPrompt=Answer briefly.", "--n", "5"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var output = result.Stdout.ReplaceLineEndings("\n");
        var items = output.Split("=== jsonl ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, items.Length);   // the train split has two items
        Assert.Equal(["Paris", "Rome"], AnswerPattern().Matches(output).Select(m => m.Groups[1].Value).Order());
        foreach (var item in items)
        {
            var answer = AnswerPattern().Match(item).Groups[1].Value;
            Assert.Matches(@"^\d/2: item jsonl-[0-9a-f]{16} \(train, 0 documents\)", item);
            Assert.Empty(CallPattern().Matches(item));
            Assert.Contains("Answer briefly.", item, StringComparison.Ordinal);
            Assert.Contains($"<answer>{answer}</answer><|end|>", item, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TasksSample_JsonlBadLine_ExitsTwoNamingTheFileAndLine()
    {
        using var dir = new Reporting.TempDirectory();
        var path = dir.Combine("bad.jsonl");
        await File.WriteAllLinesAsync(path, ["""{"prompt": "Capital of France?", "answer": "Paris"}""", """{"prompt": "Capital of Italy?", "answer": ""}"""]);

        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "tasks", "sample", "jsonl", "--set", $"path={path}"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{path} line 2: \"answer\" is empty", result.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^answer: (.+)$", RegexOptions.Multiline)]
    private static partial Regex AnswerPattern();

    [GeneratedRegex(@"^  \[\d+\] ([\w-]+) \{", RegexOptions.Multiline)]
    private static partial Regex CallPattern();

    /// <summary>An observation: the "=>" line and its indented continuation lines (blank lines kept).</summary>
    [GeneratedRegex(@"^      => (.*(?:\n(?:         .*)?)*?)(?=\n  \[|\n---)", RegexOptions.Multiline)]
    private static partial Regex ObservationPattern();
}
