using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Chat;

/// <summary>
/// Renders conversations to token ids, whole or turn by turn. A trajectory is built as
/// <c>Start(…)</c> + generated ids + <c>ToolResults(generated, …)</c> + generated ids + <c>UserTurn(…)</c> …, and
/// is never re-tokenized. The deltas are cut at special tokens, so when the generated ids are those of the assistant
/// turn as the template writes it (<see cref="EncodeAssistantTurn"/>), the concatenation equals
/// <see cref="Encode"/> of the whole conversation. Message text is encoded with special tokens not allowed: content
/// cannot forge turn markers.
/// </summary>
public interface IChatTemplate
{
    ITokenizer Tokenizer { get; }

    /// <summary>The text of a conversation (the template's exact string).</summary>
    string Render(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt);

    /// <summary>The ids of a conversation; ends with the assistant generation prefix when <paramref name="addGenerationPrompt"/>.</summary>
    int[] Encode(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt);

    /// <summary>Prompt ids for an episode: system prompt (with the tools), the user turn, the assistant generation prefix.</summary>
    int[] Start(string? system, IReadOnlyList<ToolSpec> tools, string user);

    /// <summary>
    /// Ids to append after the model's turn <paramref name="generated"/> (it stopped at a tool-call close tag or an
    /// end of turn) for the results of its tool calls: whatever closes the assistant turn, the tool results, and the
    /// prefix the model continues from.
    /// </summary>
    int[] ToolResults(ReadOnlySpan<int> generated, IReadOnlyList<ToolResult> results);

    /// <summary>Ids to append after the model's turn <paramref name="generated"/> for a new user message, ending with the generation prefix.</summary>
    int[] UserTurn(ReadOnlySpan<int> generated, string text);

    /// <summary>
    /// The ids a model generates for <paramref name="assistant"/> after the generation prefix, as the template writes
    /// them: content, tool calls, and the end-of-turn token when there are no tool calls (a turn with tool calls
    /// stops at the last close tag).
    /// </summary>
    int[] EncodeAssistantTurn(ChatMessage assistant);

    /// <summary>Token ids that end a generation turn: tool-call close tag, end of turn, end of text.</summary>
    IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>The same stops as text, for engines that match strings.</summary>
    IReadOnlyList<string> StopStrings { get; }

    /// <summary>The tool-call close tag among the stops (a stop on it means "run the tools").</summary>
    int ToolCallEndId { get; }

    /// <summary>The end-of-turn id among the stops (a stop on it means "the assistant is done").</summary>
    int EndOfTurnId { get; }
}

/// <summary>One tool result to render: the tool's name and the observation text.</summary>
public sealed record ToolResult(string ToolName, string Text);

public static class ChatTemplateExtensions
{
    /// <summary>Ids to append for the observations of the model's tool calls (error observations render like any other).</summary>
    public static int[] ToolResults(this IChatTemplate template, ReadOnlySpan<int> generated, IReadOnlyList<ToolObservation> observations) =>
        template.ToolResults(generated, [.. observations.Select(o => new ToolResult(o.ToolName, o.Text))]);

    /// <summary>Ids to append for a single tool result.</summary>
    public static int[] ToolResult(this IChatTemplate template, ReadOnlySpan<int> generated, string toolName, string text) =>
        template.ToolResults(generated, [new ToolResult(toolName, text)]);
}

/// <summary>Chat templates by name (run configuration picks one with the tokenizer of the checkpoint).</summary>
public static class ChatTemplates
{
    /// <summary>The Qwen2.5 template (<see cref="QwenChatTemplate"/>).</summary>
    public const string Qwen25 = "qwen2.5";

    /// <summary>The tiny-model template (<see cref="CompactChatTemplate"/>).</summary>
    public const string Compact = "compact";

    public static IReadOnlyList<string> Names { get; } = [Qwen25, Compact];

    public static IChatTemplate Create(string name, ITokenizer tokenizer) => name switch
    {
        Qwen25 => new QwenChatTemplate(tokenizer),
        Compact => new CompactChatTemplate(tokenizer),
        _ => throw new ArgumentException($"Unknown chat template '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
    };
}
