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

    /// <summary>
    /// No tool call: the assistant answers at once with a guess (a wrong answer in the right format). A warm start with
    /// many of these leaves a model that knows the tool format but often does not use its tool — the behaviour RL then
    /// has to change.
    /// </summary>
    SkipTool,
}

/// <summary>The flaw kinds by their configuration names (<c>wrong-tool-argument</c>, <c>wrong-final-answer</c>, <c>missing-answer-tag</c>, <c>skip-tool</c>).</summary>
public static class DemonstrationFlaws
{
    private static readonly Dictionary<string, DemonstrationFlaw> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["wrong-tool-argument"] = DemonstrationFlaw.WrongToolArgument,
        ["wrong-final-answer"] = DemonstrationFlaw.WrongFinalAnswer,
        ["missing-answer-tag"] = DemonstrationFlaw.MissingAnswerTag,
        ["skip-tool"] = DemonstrationFlaw.SkipTool,
    };

    /// <summary>Every configuration name.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>The flaw named <paramref name="name"/>; throws <see cref="ArgumentException"/> naming the known ones otherwise.</summary>
    public static DemonstrationFlaw Parse(string name) =>
        ByName.TryGetValue(name?.Trim() ?? "", out var flaw)
            ? flaw
            : throw new ArgumentException($"Unknown demonstration flaw '{name}'. Known: {string.Join(", ", ByName.Keys)}.", nameof(name));

    /// <summary>Whether <paramref name="name"/> names a flaw.</summary>
    public static bool IsKnown(string name) => ByName.ContainsKey(name?.Trim() ?? "");
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
