using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tasks;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Tasks;

/// <summary>
/// A two-silo cluster whose configuration registers the task plug-in of <c>plugins/AgentRl.TestTasks.dll</c> (loaded by
/// AssemblyPath, not referenced by the tests), and small <c>jsonl</c> datasets in a temp folder.
/// </summary>
public sealed class TaskCatalogClusterFixture : IAsyncLifetime
{
    public const string PluginType = "AgentRl.TestTasks.UnitConversionTask";

    public static string PluginPath { get; } = Path.Combine(AppContext.BaseDirectory, "plugins", "AgentRl.TestTasks.dll");

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("agentrl-tasks-").FullName;

    public AgentRlTestCluster Cluster { get; private set; } = null!;

    /// <summary>Ten conversions (eight train, two eval) with a numeric answer.</summary>
    public string Data => Path.Combine(Directory, "conversions.jsonl");

    /// <summary>A gold conversation per train item: one calculator call, its observation left to the real tool, the answer.</summary>
    public string Gold => Path.Combine(Directory, "gold.jsonl");

    public static IReadOnlyList<(string Prompt, string Expression, int Answer, string Split)> Conversions { get; } =
    [
        ("Convert 3 km to m", "3*1000", 3000, "train"), ("Convert 2 h to min", "2*60", 120, "train"),
        ("Convert 5 min to s", "5*60", 300, "train"), ("Convert 4 kg to g", "4*1000", 4000, "train"),
        ("Convert 6 day to h", "6*24", 144, "train"), ("Convert 7 ft to in", "7*12", 84, "train"),
        ("Convert 8 yd to ft", "8*3", 24, "train"), ("Convert 9 m to cm", "9*100", 900, "train"),
        ("Convert 2 km to m", "2*1000", 2000, "eval"), ("Convert 3 h to min", "3*60", 180, "eval"),
    ];

    public async Task InitializeAsync()
    {
        File.WriteAllLines(Data, Conversions.Select(c => JsonSerializer.Serialize(new { prompt = c.Prompt, answer = c.Answer.ToString(System.Globalization.CultureInfo.InvariantCulture), split = c.Split })));
        File.WriteAllLines(Gold, Conversions.Where(c => c.Split == "train").Select(c => JsonSerializer.Serialize(new
        {
            prompt = c.Prompt,
            messages = new object[]
            {
                new { role = "assistant", content = "", toolCalls = new[] { new { name = "calculator-evaluate", arguments = new { expression = c.Expression } } } },
                new { role = "tool", name = "calculator-evaluate" },
                new { role = "assistant", content = $"<answer>{c.Answer}</answer>" },
            },
        })));
        Cluster = await AgentRlTestCluster.StartAsync(
            2,
            (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools",
            configuration: new Dictionary<string, string?>
            {
                ["AgentRl:Tasks:Plugins:unit-conversion:Type"] = PluginType,
                ["AgentRl:Tasks:Plugins:unit-conversion:AssemblyPath"] = PluginPath,
            });
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>
/// The silo's task catalog through <see cref="ITaskCatalogGrain"/> and training runs: a plug-in task and the <c>jsonl</c>
/// task list, check, sample and train like the bundled ones; bad data, unknown tools and an impossible warm start are
/// refused before a run starts.
/// </summary>
public sealed class TaskCatalogClusterTests(TaskCatalogClusterFixture fixture) : IClassFixture<TaskCatalogClusterFixture>
{
    private IClusterClient Client => fixture.Cluster.Client;

    private ITaskCatalogGrain Catalog => Client.GetGrain<ITaskCatalogGrain>(0);

    private RunConfig Tiny(string task, Dictionary<string, string> options) => new()
    {
        Task = task,
        TaskOptions = options,
        Steps = 2,
        PromptsPerStep = 2,
        GroupSize = 2,
        SftDemonstrations = 4,
        SftEchoExamples = 0,
        SftFlawPhaseDemonstrations = 4,
        SftWarmupSteps = 0,
        SftFlawPhaseWarmupSteps = 0,
        EvalSize = 2,
        EvalEvery = 1,
        PassK = 0,
        RunDir = Path.Combine(fixture.Directory, "runs"),
        Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 384),
    };

    private Dictionary<string, string> JsonlWithTools(string? demonstrations = null)
    {
        var options = new Dictionary<string, string> { ["path"] = fixture.Data, ["tools"] = "calculator-evaluate", ["reward"] = "numeric" };
        if (demonstrations is not null)
        {
            options["demonstrations"] = demonstrations;
        }

        return options;
    }

    [Fact]
    public async Task GetTasks_ListsTheBundledTasksAndThePluginWithItsSource()
    {
        var tasks = await Catalog.GetTasksAsync();

        Assert.Equal(["arithmetic", "jsonl", "kb-multihop", "python-math", "unit-conversion"], tasks.Select(t => t.Name));
        var plugin = tasks[^1];
        Assert.Equal(["calculator-evaluate"], plugin.AllowedTools);
        Assert.Equal("20", plugin.OptionDefaults["maxQuantity"]);
        Assert.Equal($"{TaskCatalogClusterFixture.PluginType} from {TaskCatalogClusterFixture.PluginPath}", plugin.Source);
        Assert.All(tasks.SkipLast(1), t => Assert.Equal("bundled", t.Source));
    }

    [Fact]
    public async Task PluginTask_RegisteredByConfiguration_TrainsTwoSteps()
    {
        var run = Client.GetGrain<ITrainingRunGrain>("plugin-run");

        await run.StartAsync(Tiny("unit-conversion", new() { ["maxQuantity"] = "9" }));
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 4);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(2, status.Step);
        Assert.NotNull(status.FinalEvalAccuracy);
        var rows = MetricsCsvWriter.Read(Path.Combine(fixture.Directory, "runs", "plugin-run", "metrics.csv"));
        Assert.Equal([0L, 1L, 2L], rows.Select(r => r.Step));

        // The warm start built its demonstrations on the trainer silo with the real calculator: all four agree.
        Assert.Equal(4, rows[0].Values["sft/examples"]);
        Assert.All(rows.Skip(1), r => Assert.True(r.Values.ContainsKey("reward_mean") && r.Values.ContainsKey("eval_accuracy")));
    }

    [Fact]
    public async Task Jsonl_WithToolsAndGoldConversations_TrainsTwoSteps()
    {
        var run = Client.GetGrain<ITrainingRunGrain>("jsonl-run");

        await run.StartAsync(Tiny("jsonl", JsonlWithTools(fixture.Gold)));
        var status = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 4);

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(2, status.Step);
        var rows = MetricsCsvWriter.Read(Path.Combine(fixture.Directory, "runs", "jsonl-run", "metrics.csv"));
        Assert.Equal([0L, 1L, 2L], rows.Select(r => r.Step));
        Assert.Equal(4, rows[0].Values["sft/examples"]);
        Assert.All(rows.Skip(1), r => Assert.True(r.Values.ContainsKey("reward_mean") && r.Values.ContainsKey("eval_accuracy")));
    }

    [Fact]
    public async Task Sample_PluginTask_DemonstrationsCallTheSilosCalculator()
    {
        var samples = await Catalog.SampleAsync(new TaskSampleRequest("unit-conversion", new Dictionary<string, string> { ["maxQuantity"] = "9" }, Count: 2, Seed: 4));

        Assert.Equal(2, samples.Count);
        foreach (var sample in samples)
        {
            Assert.Equal("train", sample.Split);
            Assert.StartsWith("Convert ", sample.Prompt, StringComparison.Ordinal);
            Assert.Equal("calculator-evaluate", Assert.Single(sample.Tools).Name);
            var demonstration = Assert.IsAssignableFrom<IReadOnlyList<ChatMessage>>(sample.Demonstration);
            Assert.Equal(sample.Answer, demonstration.Single(m => m.Role == ChatRole.Tool).Content.Trim());
            Assert.Equal($"<answer>{sample.Answer}</answer>", demonstration[^1].Content);
            Assert.True(sample.ToolResultsAgree);
            Assert.Contains(sample.Prompt, sample.ItemJson, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Sample_Jsonl_GoldConversationsFilledByTheTool_OrTheReasonThereIsNone()
    {
        var gold = await Catalog.SampleAsync(new TaskSampleRequest("jsonl", JsonlWithTools(fixture.Gold), Count: 8));
        var none = await Catalog.SampleAsync(new TaskSampleRequest("jsonl", JsonlWithTools(), Count: 1));
        var eval = await Catalog.SampleAsync(new TaskSampleRequest("jsonl", JsonlWithTools(fixture.Gold), Eval: true, Count: 5));

        Assert.Equal(8, gold.Count);
        Assert.All(gold, s => Assert.Equal(s.Answer, s.Demonstration!.Single(m => m.Role == ChatRole.Tool).Content.Trim()));
        Assert.Null(Assert.Single(none).Demonstration);
        Assert.Contains("the warm start is unavailable", none[0].DemonstrationProblem, StringComparison.Ordinal);
        Assert.Equal(["Convert 2 km to m", "Convert 3 h to min"], eval.Select(s => s.Prompt).Order());
        Assert.All(eval, s => Assert.Equal("eval", s.Split));
    }

    [Fact]
    public async Task Validate_RefusesWhatARunCouldNotUse_ByName()
    {
        var badLine = Path.Combine(fixture.Directory, "bad-line.jsonl");
        await File.WriteAllLinesAsync(badLine, ["""{"prompt": "Convert 1 km to m", "answer": "1000"}""", """{"prompt": "Convert 1 h to min", "answer": """]);
        var emptyAnswer = Path.Combine(fixture.Directory, "empty-answer.jsonl");
        await File.WriteAllLinesAsync(emptyAnswer, ["""{"prompt": "Convert 1 km to m", "answer": ""}"""]);

        Assert.Null(await Catalog.ValidateAsync("jsonl", JsonlWithTools(fixture.Gold), warmStart: true));
        Assert.Null(await Catalog.ValidateAsync("unit-conversion"));
        Assert.Contains("unknown task 'unit-convrsion'", await Catalog.ValidateAsync("unit-convrsion"), StringComparison.Ordinal);
        Assert.EndsWith("Did you mean 'unit-conversion'?", await Catalog.ValidateAsync("unit-convrsion"), StringComparison.Ordinal);
        Assert.Contains("taskOptions.maxQuantity = 'many' is not valid for task 'unit-conversion'", await Catalog.ValidateAsync("unit-conversion", new Dictionary<string, string> { ["maxQuantity"] = "many" }), StringComparison.Ordinal);
        Assert.Contains(
            "task 'jsonl' allows tools that are not in the tool catalog: weather-forecast (known: calculator-evaluate, kb-search, python-run)",
            await Catalog.ValidateAsync("jsonl", new Dictionary<string, string> { ["path"] = fixture.Data, ["tools"] = "calculator-evaluate,weather-forecast" }),
            StringComparison.Ordinal);
        Assert.Contains($"{badLine} line 2: invalid JSON", await Catalog.ValidateAsync("jsonl", new Dictionary<string, string> { ["path"] = badLine }), StringComparison.Ordinal);
        Assert.Contains($"{emptyAnswer} line 1: \"answer\" is empty", await Catalog.ValidateAsync("jsonl", new Dictionary<string, string> { ["path"] = emptyAnswer }), StringComparison.Ordinal);

        // Tools but no gold conversations: fine without a warm start, refused with one.
        Assert.Null(await Catalog.ValidateAsync("jsonl", JsonlWithTools(), warmStart: false));
        Assert.Contains("the warm start is unavailable", await Catalog.ValidateAsync("jsonl", JsonlWithTools(), warmStart: true), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_UnknownToolBadDataOrNoWarmStart_RefusedBeforeTheRunStarts()
    {
        var badLine = Path.Combine(fixture.Directory, "bad-start.jsonl");
        await File.WriteAllLinesAsync(badLine, ["""{"prompt": "Convert 1 km to m", "answer": "1000"}""", """{"prompt": "Convert 1 h to min"}"""]);
        var run = Client.GetGrain<ITrainingRunGrain>("refused");

        var tool = await Assert.ThrowsAsync<ArgumentException>(() => run.StartAsync(Tiny("jsonl", new() { ["path"] = fixture.Data, ["tools"] = "weather-forecast" })));
        var data = await Assert.ThrowsAsync<ArgumentException>(() => run.StartAsync(Tiny("jsonl", new() { ["path"] = badLine })));
        var warm = await Assert.ThrowsAsync<ArgumentException>(() => run.StartAsync(Tiny("jsonl", JsonlWithTools())));

        Assert.Contains("allows tools that are not in the tool catalog: weather-forecast", tool.Message, StringComparison.Ordinal);
        Assert.Contains($"{badLine} line 2: \"answer\" is missing", data.Message, StringComparison.Ordinal);
        Assert.Contains("the warm start is unavailable", warm.Message, StringComparison.Ordinal);
        Assert.Equal(RunState.Pending, (await run.GetStatusAsync()).State);
    }
}
