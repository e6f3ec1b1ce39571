using AgentRl.Abstractions.Tools;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks;

/// <summary>
/// What a tool executor needs to serve one item: the tools the task allows and the item's knowledge base
/// (documents searched by <c>kb-search</c>; empty for tasks that do not search).
/// </summary>
public sealed record TaskToolContext(IReadOnlyList<string> AllowedTools, IReadOnlyList<KbDocument> Documents);

/// <summary>
/// A task, bundled or a plug-in (<see cref="TaskCatalogOptions"/>): a seeded dataset, a system prompt, the tools it allows, a reward (a pure function of the
/// finished conversation) and gold demonstrations for warm-start fine-tuning.
/// </summary>
public interface IAgentTask
{
    /// <summary>Registry name, e.g. <c>arithmetic</c>.</summary>
    string Name { get; }

    /// <summary>One line for <c>agentrl tasks list</c>.</summary>
    string Description { get; }

    /// <summary>The system prompt, without tool schemas (the tool catalog renders those).</summary>
    string SystemPrompt { get; }

    /// <summary>Tool names (<c>plugin-function</c>) the task allows.</summary>
    IReadOnlyList<string> AllowedTools { get; }

    /// <summary>
    /// <paramref name="count"/> distinct items of <paramref name="split"/> (a finite dataset returns fewer when it has fewer;
    /// callers cycle through them). The same seed gives the same items; train and eval items never share a prompt, whatever
    /// the seeds.
    /// </summary>
    IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed);

    /// <summary>
    /// Why <paramref name="item"/> cannot be used by this task (wrong task name, missing or inconsistent metadata, an
    /// answer that disagrees with the task's own computation), or null when it can. Pass it to
    /// <see cref="Data.TaskItemJsonl.Read"/> so bad imported lines are reported with their line numbers.
    /// </summary>
    string? Validate(TaskItem item);

    /// <summary>What the tool executor needs for this item.</summary>
    TaskToolContext GetToolContext(TaskItem item);

    /// <summary>Scores a finished conversation on <paramref name="item"/>: a pure function of the final text and tool calls.</summary>
    RewardResult Score(TaskItem item, FinishedConversation conversation);

    /// <summary>
    /// Why this task cannot build warm-start demonstrations (e.g. a dataset that allows tools but has no gold conversations),
    /// or null when it can; a run with a warm start is then refused at its start with this reason. Default: null.
    /// </summary>
    string? WarmStartProblem => null;

    /// <summary>
    /// A complete tool-using conversation for <paramref name="item"/>; observations come from calling
    /// <paramref name="tools"/>. With a flaw, the demonstration is deliberately wrong in that way.
    /// </summary>
    Task<Demonstration> BuildDemonstrationAsync(
        TaskItem item,
        IToolExecutor tools,
        DemonstrationFlaw flaw = DemonstrationFlaw.None,
        CancellationToken cancellationToken = default);
}
