using AgentRl.Abstractions.Chat;
using AgentRl.Tasks;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class TaskRegistryTests
{
    private readonly TaskRegistry _registry = TaskRegistry.CreateDefault();

    [Fact]
    public void List_Default_TheFourBundledTasksWithToolsAndOptions()
    {
        var tasks = _registry.List();
        Assert.Equal(["arithmetic", "jsonl", "kb-multihop", "python-math"], tasks.Select(t => t.Name));
        Assert.All(tasks, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
        Assert.All(tasks, t => Assert.Equal(TaskRegistry.BundledSource, _registry.SourceOf(t.Name)));
        Assert.Equal(["calculator-evaluate"], tasks[0].AllowedTools);
        Assert.Empty(tasks[1].AllowedTools);
        Assert.Equal(["kb-search"], tasks[2].AllowedTools);
        Assert.Equal(["python-run"], tasks[3].AllowedTools);
        Assert.Equal("1", tasks[0].OptionDefaults["minOperations"]);
        Assert.Equal("exact", tasks[1].OptionDefaults["reward"]);
        Assert.Equal(string.Empty, tasks[1].OptionDefaults["path"]);
        Assert.Equal("3", tasks[2].OptionDefaults["maxHops"]);
    }

    [Fact]
    public void Create_WithOptions_TaskUsesThem()
    {
        var task = _registry.Create("Arithmetic", new Dictionary<string, string>
        {
            ["min-operations"] = "1",
            ["max_operations"] = "1",
            ["AllowDivision"] = "false",
            ["correctness-weight"] = "1",
            ["system-prompt"] = "Be exact.",
        });
        Assert.IsType<ArithmeticTask>(task);
        Assert.Equal("Be exact.", task.SystemPrompt);
        Assert.All(task.Generate(TaskSplit.Train, 20, 1), i => Assert.Single(System.Text.RegularExpressions.Regex.Matches(i.Prompt, " [-+*/] ")));
        var item = task.Generate(TaskSplit.Train, 1, 1)[0];
        Assert.Equal(1.2, task.Score(item, new FinishedConversation(AnswerText.Tag(item.Answer), [new ToolCall("calculator-evaluate", """{"expression":"1"}""")])).Score, 9);
    }

    [Fact]
    public void Create_UnknownTaskOrOption_ClearErrors()
    {
        Assert.Contains("unknown task 'chess'. Known: arithmetic, jsonl, kb-multihop, python-math.", Assert.Throws<ArgumentException>(() => _registry.Create("chess")).Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'kb-multihop'?", Assert.Throws<ArgumentException>(() => _registry.Create("kb-multihpo")).Message, StringComparison.Ordinal);
        Assert.Contains("taskOptions.depth: task 'kb-multihop' has no such option. Options: ", Assert.Throws<ArgumentException>(() => _registry.Create("kb-multihop", new Dictionary<string, string> { ["depth"] = "3" })).Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'maxHops'?", Assert.Throws<ArgumentException>(() => _registry.Create("kb-multihop", new Dictionary<string, string> { ["maxHosp"] = "3" })).Message, StringComparison.Ordinal);
        Assert.Contains("taskOptions.maxHops = 'three' is not valid for task 'kb-multihop'; expected a whole number", Assert.Throws<ArgumentException>(() => _registry.Create("kb-multihop", new Dictionary<string, string> { ["max-hops"] = "three" })).Message, StringComparison.Ordinal);
        Assert.Contains("maxHops <= 3", Assert.Throws<ArgumentException>(() => _registry.Create("kb-multihop", new Dictionary<string, string> { ["max-hops"] = "4" })).Message, StringComparison.Ordinal);
    }
}
