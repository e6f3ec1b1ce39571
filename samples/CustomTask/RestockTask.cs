using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Samples.CustomTask;

/// <summary>The options of <see cref="RestockTask"/> (<c>taskOptions.maxDelivery</c>), besides every task's reward weights.</summary>
public sealed record RestockOptions : TaskOptions
{
    /// <summary>The largest delivery. Default 40.</summary>
    public int MaxDelivery { get; init; } = 40;

    public override void Validate()
    {
        base.Validate();
        if (MaxDelivery < 1)
        {
            throw new ArgumentException($"maxDelivery must be at least 1, got {MaxDelivery}.");
        }
    }
}

/// <summary>
/// <c>restock</c>: two deliveries of an item arrive; record both with <c>inventory-add</c> and answer the stock. The
/// reward is the exact stock (with the answer-tag format and the use of <c>inventory-add</c>), computed here: the
/// plugin's state is the episode's, the answer is checked against the item.
/// </summary>
public sealed class RestockTask(RestockOptions options) : IAgentTask
{
    public const string TaskName = "restock";
    private const string AddTool = "inventory-add";
    private static readonly string[] Items = ["apples", "pears", "lamps", "chairs", "books", "cups", "shirts", "boxes"];

    public string Name => TaskName;

    public string Description => "Record two deliveries with inventory-add and answer the stock (a sample task plug-in with a stateful tool).";

    public string SystemPrompt => options.SystemPrompt ?? string.Empty;

    public IReadOnlyList<string> AllowedTools { get; } = [AddTool, "inventory-count"];

    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed) =>
        SplitSampler.Sample(TaskName, split, count, seed, options.EvalModulus, rng =>
        {
            var (item, first, second) = (Items[rng.Next(Items.Length)], rng.Next(1, options.MaxDelivery + 1), rng.Next(1, options.MaxDelivery + 1));
            return new TaskCandidate(
                string.Create(CultureInfo.InvariantCulture, $"Deliveries of {first} and {second} {item} arrive. Stock of {item}?"),
                (first + second).ToString(CultureInfo.InvariantCulture),
                new Dictionary<string, string> { ["item"] = item, ["first"] = first.ToString(CultureInfo.InvariantCulture), ["second"] = second.ToString(CultureInfo.InvariantCulture) });
        });

    public string? Validate(TaskItem item) =>
        item.Task != TaskName ? $"item of task '{item.Task}'"
        : new[] { "item", "first", "second" }.FirstOrDefault(k => !item.Metadata.ContainsKey(k)) is { } missing ? $"metadata '{missing}' is missing"
        : null;

    public TaskToolContext GetToolContext(TaskItem item) => new(AllowedTools, []);

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        ExactIntegerReward.Score(item, conversation, options.Weights, AllowedTools, AddTool, "item");

    public async Task<Demonstration> BuildDemonstrationAsync(TaskItem item, IToolExecutor tools, DemonstrationFlaw flaw = DemonstrationFlaw.None, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(tools);
        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt) };
        ToolObservation? last = null;
        foreach (var delivery in new[] { item.RequireMetadata("first"), item.RequireMetadata("second") })
        {
            // The second call's observation is the stock after both: the plugin kept the first.
            var call = new ToolCall(AddTool, $$"""{"item":"{{item.RequireMetadata("item")}}","quantity":{{delivery}}}""");
            last = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
            messages.Add(ChatMessage.Assistant(string.Empty, call));
            messages.Add(ChatMessage.Tool(AddTool, last.Text));
        }

        var answer = flaw == DemonstrationFlaw.None ? item.Answer : item.RequireMetadata("second");
        messages.Add(ChatMessage.Assistant(flaw == DemonstrationFlaw.MissingAnswerTag ? $"The stock is {item.Answer}." : AnswerText.Tag(answer)));
        return new Demonstration(item, messages, flaw, last is { IsError: false } && last.Text.Trim() == item.Answer);
    }
}
