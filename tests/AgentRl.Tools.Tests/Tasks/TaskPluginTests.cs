using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

/// <summary>Task plug-ins registered by name (<see cref="TaskCatalogOptions"/>): how their options bind, and every bad registration's reason.</summary>
public sealed class TaskPluginTests
{
    private static readonly string ThisAssembly = typeof(TaskPluginTests).Assembly.Location;

    private static TaskCatalogOptions Plugins(params (string Name, TaskPluginRegistration Registration)[] plugins)
    {
        var options = new TaskCatalogOptions();
        foreach (var (name, registration) in plugins)
        {
            options.Plugins[name] = registration;
        }

        return options;
    }

    [Fact]
    public void Plugin_WithOptionsConstructor_FromAssemblyPath_BindsItsOptionsLikeABundledTask()
    {
        var registry = TaskRegistry.Create(Plugins(("letter-count", new TaskPluginRegistration { Type = typeof(LetterCountTask).FullName!, AssemblyPath = ThisAssembly })));

        var info = registry.Info("letter-count");
        Assert.Equal("Counts a letter in a word.", info.Description);
        Assert.Empty(info.AllowedTools);
        Assert.Equal("r", info.OptionDefaults["letter"]);
        Assert.Equal("0.8", info.OptionDefaults["correctnessWeight"]);
        Assert.Contains(ThisAssembly, registry.SourceOf("letter-count"), StringComparison.Ordinal);
        Assert.Equal(["arithmetic", "jsonl", "kb-multihop", "letter-count", "python-math"], registry.List().Select(i => i.Name));

        var task = registry.Create("letter-count", new Dictionary<string, string> { ["letter"] = "s", ["format-weight"] = "0" });
        var item = Assert.Single(task.Generate(TaskSplit.Train, 1, 0));
        Assert.Contains("'s'", item.Prompt, StringComparison.Ordinal);
        Assert.Equal(0.8, task.Score(item, new FinishedConversation(AnswerText.Tag(item.Answer), [])).Score, 9);   // correctness 0.8, format weight 0, no tool call
        Assert.Contains("letter must be one letter", Assert.Throws<ArgumentException>(() => registry.Create("letter-count", new Dictionary<string, string> { ["letter"] = "xy" })).Message, StringComparison.Ordinal);
        Assert.Contains("taskOptions.colour: task 'letter-count' has no such option", Assert.Throws<ArgumentException>(() => registry.Create("letter-count", new Dictionary<string, string> { ["colour"] = "red" })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugin_ParameterlessConstructor_TakesNoOptions()
    {
        var registry = TaskRegistry.Create(Plugins(("constant", TaskPluginRegistration.For<ConstantTask>())));

        Assert.Empty(registry.Info("constant").OptionDefaults);
        Assert.Equal("42", Assert.Single(registry.Create("constant").Generate(TaskSplit.Train, 1, 0)).Answer);
        Assert.Contains("taskOptions.seed: task 'constant' takes no options", Assert.Throws<ArgumentException>(() => registry.Create("constant", new Dictionary<string, string> { ["seed"] = "1" })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadRegistrations_EachNamedWithItsReason()
    {
        var missing = Path.Combine(Path.GetTempPath(), "agentrl-no-such-" + Guid.NewGuid().ToString("N") + ".dll");
        var options = Plugins(
            ("ghost", new TaskPluginRegistration { Type = "My.Tasks.Ghost", AssemblyPath = missing }),
            ("nowhere", new TaskPluginRegistration { Type = "My.Tasks.Nowhere", AssemblyPath = ThisAssembly }),
            ("unresolved", new TaskPluginRegistration { Type = "My.Tasks.Unresolved, My.Tasks" }),
            ("plain", new TaskPluginRegistration { Type = typeof(NotATask).AssemblyQualifiedName! }),
            ("arithmetic", TaskPluginRegistration.For<ArithmeticTask>()),
            ("misnamed", TaskPluginRegistration.For<ConstantTask>()),
            ("broken", TaskPluginRegistration.For<BrokenTask>()),
            ("needs-args", TaskPluginRegistration.For<NeedsArgumentsTask>()),
            ("bad name!", TaskPluginRegistration.For<ConstantTask>()),
            ("untyped", new TaskPluginRegistration()));

        var problems = options.Problems();

        Assert.Equal(10, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("AgentRl:Tasks:Plugins:", p, StringComparison.Ordinal));
        Assert.Contains($"AgentRl:Tasks:Plugins:ghost: assembly '{missing}' not found", problems[0], StringComparison.Ordinal);
        Assert.Contains($"AgentRl:Tasks:Plugins:nowhere: type 'My.Tasks.Nowhere' not found in '{ThisAssembly}'", problems[1], StringComparison.Ordinal);
        Assert.Contains("AgentRl:Tasks:Plugins:unresolved: type 'My.Tasks.Unresolved, My.Tasks' not found", problems[2], StringComparison.Ordinal);
        Assert.Contains($"AgentRl:Tasks:Plugins:plain: type '{typeof(NotATask).FullName}' is not a concrete class implementing IAgentTask", problems[3], StringComparison.Ordinal);
        Assert.Equal("AgentRl:Tasks:Plugins:arithmetic: a task named 'arithmetic' is already registered (bundled)", problems[4]);
        Assert.Equal("AgentRl:Tasks:Plugins:misnamed: the task names itself 'constant'; register it under that name, not 'misnamed'", problems[5]);
        Assert.Contains($"AgentRl:Tasks:Plugins:broken: constructing {typeof(BrokenTask).FullName} with default options failed: no data here", problems[6], StringComparison.Ordinal);
        Assert.Contains("AgentRl:Tasks:Plugins:needs-args: type", problems[7], StringComparison.Ordinal);
        Assert.Contains("has no public constructor taking one TaskOptions subclass", problems[7], StringComparison.Ordinal);
        Assert.Contains("the name 'bad name!' must contain only letters, digits, '-' and '_'", problems[8], StringComparison.Ordinal);
        Assert.Contains("AgentRl:Tasks:Plugins:untyped: no Type given", problems[9], StringComparison.Ordinal);

        var thrown = Assert.Throws<ArgumentException>(() => TaskRegistry.Create(options));
        Assert.All(problems, p => Assert.Contains(p, thrown.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void DuplicatePlugins_TheSecondIsRefusedNamingTheFirst()
    {
        var registry = TaskRegistry.CreateDefault().AddPlugin("constant", TaskPluginRegistration.For<ConstantTask>());

        var e = Assert.Throws<ArgumentException>(() => registry.AddPlugin("Constant", TaskPluginRegistration.For<ConstantTask>()));

        Assert.Contains("task plug-in 'Constant': a task named 'constant' is already registered (" + typeof(ConstantTask).AssemblyQualifiedName, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_WithToolNames_RefusesAPluginWhoseToolsTheCatalogLacks()
    {
        var options = Plugins(("weather-report", TaskPluginRegistration.For<WeatherTask>()), ("constant", TaskPluginRegistration.For<ConstantTask>()));

        var problem = Assert.Single(options.Problems(["calculator-evaluate", "weather-forecast"]));

        Assert.Equal(
            "AgentRl:Tasks:Plugins:weather-report: allows tools that are not in the tool catalog: weather-forcast (known: calculator-evaluate, weather-forecast). Did you mean 'weather-forecast'?",
            problem);
        Assert.Empty(options.Problems());   // without a catalog to check against, the tools are not judged
    }

    /// <summary>"How many times does 'r' appear in 'strawberry'?" with the letter as an option.</summary>
    public sealed record LetterCountOptions : TaskOptions
    {
        public string Letter { get; init; } = "r";

        public override void Validate()
        {
            base.Validate();
            if (Letter.Length != 1 || !char.IsLetter(Letter[0]))
            {
                throw new ArgumentException($"letter must be one letter, got '{Letter}'.");
            }
        }
    }

    public sealed class LetterCountTask(LetterCountOptions options) : IAgentTask
    {
        private static readonly string[] Words = ["strawberry", "mississippi", "banana", "bookkeeper", "assessment", "raspberry", "referee", "success"];

        public string Name => "letter-count";

        public string Description => "Counts a letter in a word.";

        public string SystemPrompt => options.SystemPrompt ?? string.Empty;

        public IReadOnlyList<string> AllowedTools => [];

        public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed) =>
            SplitSampler.Sample(Name, split, count, seed, options.EvalModulus, rng =>
            {
                var word = Words[rng.Next(Words.Length)];
                return new TaskCandidate($"How many times does '{options.Letter}' appear in '{word}'?", word.Count(c => c == options.Letter[0]).ToString(System.Globalization.CultureInfo.InvariantCulture), new Dictionary<string, string>());
            });

        public string? Validate(TaskItem item) => null;

        public TaskToolContext GetToolContext(TaskItem item) => new([], []);

        public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
            ExactIntegerReward.Score(item, conversation, options.Weights, [], "none", "none");

        public Task<Demonstration> BuildDemonstrationAsync(TaskItem item, IToolExecutor tools, DemonstrationFlaw flaw = DemonstrationFlaw.None, CancellationToken cancellationToken = default) =>
            Task.FromResult(new Demonstration(item, [ChatMessage.User(item.Prompt), ChatMessage.Assistant(AnswerText.Tag(item.Answer))], flaw, true));
    }

    /// <summary>A task without options: always 6 × 7.</summary>
    public class ConstantTask : IAgentTask
    {
        public virtual string Name => "constant";

        public string Description => "Always 42.";

        public string SystemPrompt => string.Empty;

        public virtual IReadOnlyList<string> AllowedTools => [];

        public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed) =>
            [.. Enumerable.Range(0, Math.Min(count, 1)).Select(_ => new TaskItem("constant-1", Name, "6 * 7?", "42", split, new Dictionary<string, string>(), []))];

        public string? Validate(TaskItem item) => null;

        public TaskToolContext GetToolContext(TaskItem item) => new(AllowedTools, []);

        public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
            new(conversation.FinalText.Contains("42", StringComparison.Ordinal) ? 1 : 0, new Dictionary<string, double>());

        public Task<Demonstration> BuildDemonstrationAsync(TaskItem item, IToolExecutor tools, DemonstrationFlaw flaw = DemonstrationFlaw.None, CancellationToken cancellationToken = default) =>
            Task.FromResult(new Demonstration(item, [ChatMessage.User(item.Prompt), ChatMessage.Assistant(AnswerText.Tag("42"))], flaw, true));
    }

    public sealed class WeatherTask : ConstantTask
    {
        public override string Name => "weather-report";

        public override IReadOnlyList<string> AllowedTools => ["weather-forcast"];
    }

    public sealed class BrokenTask : ConstantTask
    {
        public BrokenTask() => throw new InvalidOperationException("no data here");
    }

    public sealed class NeedsArgumentsTask(string data) : ConstantTask
    {
        public override string Name => data;
    }

    public sealed class NotATask;
}
