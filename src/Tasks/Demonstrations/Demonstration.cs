using AgentRl.Abstractions.Chat;

namespace AgentRl.Tasks.Demonstrations;

/// <summary>How a flawed demonstration is wrong.</summary>
public enum DemonstrationFlaw
{
    /// <summary>A gold demonstration: right calls, right answer, right format.</summary>
    None,

    /// <summary>A tool is called with a wrong argument (a changed number, a wrong entity, an off-by-one program) and the answer follows it.</summary>
    WrongToolArgument,

    /// <summary>The tool calls are right but the final answer is wrong.</summary>
    WrongFinalAnswer,

    /// <summary>The right answer, given without the answer tags.</summary>
    MissingAnswerTag,
}

/// <summary>
/// A complete conversation for an item: system, user, assistant turns with tool calls, tool observations and the
/// final assistant answer. <see cref="ToolResultsAgree"/> says whether the observations the executor returned
/// support the reference answer (for a gold demonstration it should; callers may drop those that do not).
/// </summary>
public sealed record Demonstration(
    TaskItem Item,
    IReadOnlyList<ChatMessage> Messages,
    DemonstrationFlaw Flaw,
    bool ToolResultsAgree);
