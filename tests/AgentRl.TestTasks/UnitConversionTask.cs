using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.TestTasks;

/// <summary>Options of <see cref="UnitConversionTask"/>: the shared ones and the largest quantity.</summary>
public sealed record UnitConversionOptions : TaskOptions
{
    /// <summary>Largest quantity to convert. Default 20.</summary>
    public int MaxQuantity { get; init; } = 20;

    public override void Validate()
    {
        base.Validate();
        if (MaxQuantity < 2)
        {
            throw new ArgumentException($"maxQuantity must be at least 2, got {MaxQuantity}.");
        }
    }
}

/// <summary>
/// A plug-in task: convert a whole quantity between units with integer factors ("Convert 7 h to min"), solved with
/// <c>calculator-evaluate</c>; exact integer reward.
/// </summary>
public sealed class UnitConversionTask(UnitConversionOptions options) : IAgentTask
{
    public const string TaskName = "unit-conversion";
    public const string ExpressionKey = "expression";
    private const string Calculator = "calculator-evaluate";

    private static readonly (string From, string To, int Factor)[] Units =
        [("km", "m", 1000), ("h", "min", 60), ("min", "s", 60), ("kg", "g", 1000), ("day", "h", 24), ("ft", "in", 12), ("yd", "ft", 3), ("m", "cm", 100)];

    public string Name => TaskName;

    public string Description => "Whole quantities converted between units with calculator-evaluate (a task plug-in of the tests).";

    public string SystemPrompt => options.SystemPrompt ?? string.Empty;

    public IReadOnlyList<string> AllowedTools { get; } = [Calculator];

    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed) =>
        SplitSampler.Sample(TaskName, split, count, seed, options.EvalModulus, rng =>
        {
            var quantity = rng.Next(1, options.MaxQuantity + 1);
            var (from, to, factor) = Units[rng.Next(Units.Length)];
            return new TaskCandidate(
                string.Create(CultureInfo.InvariantCulture, $"Convert {quantity} {from} to {to}"),
                (quantity * factor).ToString(CultureInfo.InvariantCulture),
                new Dictionary<string, string> { [ExpressionKey] = string.Create(CultureInfo.InvariantCulture, $"{quantity}*{factor}") });
        });

    public string? Validate(TaskItem item) =>
        item.Task != TaskName ? $"item of task '{item.Task}'" : item.Metadata.ContainsKey(ExpressionKey) ? null : "metadata 'expression' is missing";

    public TaskToolContext GetToolContext(TaskItem item) => new(AllowedTools, []);

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        ExactIntegerReward.Score(item, conversation, options.Weights, AllowedTools, Calculator, ExpressionKey);

    public async Task<Demonstration> BuildDemonstrationAsync(TaskItem item, IToolExecutor tools, DemonstrationFlaw flaw = DemonstrationFlaw.None, CancellationToken cancellationToken = default)
    {
        var wrong = (long.Parse(item.Answer, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt) };
        if (flaw == DemonstrationFlaw.SkipTool)
        {
            messages.Add(ChatMessage.Assistant(AnswerText.Tag(wrong)));
            return new Demonstration(item, messages, flaw, ToolResultsAgree: true);
        }

        var call = new ToolCall(Calculator, ToolArguments.Json((ExpressionKey, item.RequireMetadata(ExpressionKey))));
        var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
        messages.Add(ChatMessage.Assistant(string.Empty, call));
        messages.Add(ChatMessage.Tool(Calculator, observation.Text));
        messages.Add(ChatMessage.Assistant(flaw switch
        {
            DemonstrationFlaw.MissingAnswerTag => $"The answer is {item.Answer}.",
            DemonstrationFlaw.None => AnswerText.Tag(item.Answer),
            _ => AnswerText.Tag(wrong),
        }));
        return new Demonstration(item, messages, flaw, !observation.IsError && observation.Text.Trim() == item.Answer);
    }
}
