using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Swarm;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;

namespace AgentRl.Pipeline.Tests.Swarm;

/// <summary>Shared groups of real arithmetic items, for pool tests.</summary>
internal static class SharedGroupFixtures
{
    private static readonly TaskRegistry Tasks = TaskRegistry.CreateDefault();

    public static IReadOnlyList<TaskItem> Items { get; } = Tasks.Create("arithmetic").Generate(TaskSplit.Train, 64, seed: 11);

    /// <summary>A group of <paramref name="size"/> completions on item <paramref name="item"/>; the rewards alternate 1, 0 when informative.</summary>
    public static SharedGroup Group(int item, string producer = "run-a", int step = 1, int size = 2, DateTime? at = null, bool informative = true, string variant = "") => new()
    {
        Task = "arithmetic",
        ItemJson = ItemJson(Items[item]),
        GroupId = $"{producer}/{step}/{item}{variant}",
        Completions = [.. Enumerable.Range(0, size).Select(i => new SharedCompletion
        {
            Messages =
            [
                ChatMessage.Assistant("", new ToolCall("calculator-evaluate", $$"""{"expression": "{{Items[item].RequireMetadata("expression")}}"}""")),
                ChatMessage.Tool("calculator-evaluate", Items[item].Answer),
                ChatMessage.Assistant($"<answer>{(i % 2 == 0 ? Items[item].Answer : "0")}</answer>{variant}"),
            ],
            ProducerReward = informative ? (i % 2 == 0 ? 1 : 0) : 1,
        })],
        ProducerRunId = producer,
        PolicyId = "default",
        PolicyVersion = step,
        TokenizerId = "byte-level:test",
        Step = step,
        ProducedAt = at ?? new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc).AddMinutes(step),
    };

    public static string ItemJson(TaskItem item)
    {
        using var writer = new StringWriter();
        TaskItemJsonl.Write(writer, [item]);
        return writer.ToString().TrimEnd('\n', '\r');
    }
}
