using System.Text;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Chat;

/// <summary>
/// The Qwen2.5 chat template (ChatML with Hermes-style tool calls), producing exactly the text of its Jinja template:
/// <code>
/// &lt;|im_start|&gt;system\n{system}\n\n# Tools\n\n… &lt;tools&gt;\n{tool json}\n&lt;/tools&gt;…&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;user\n{text}&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;assistant\n{content}\n&lt;tool_call&gt;\n{"name": "…", "arguments": {…}}\n&lt;/tool_call&gt;&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;user\n&lt;tool_response&gt;\n{result}\n&lt;/tool_response&gt;&lt;|im_end|&gt;\n
/// &lt;|im_start|&gt;assistant\n
/// </code>
/// Tools print as <c>{"type": "function", "function": {"name", "description", "parameters"}}</c> through
/// <c>tojson</c>. With no system message the template's default system prompt is used. Deltas start at a special
/// token; the one boundary the template cannot guard is the generation prefix's newline followed by generated text
/// that starts with whitespace (Qwen's tokenizer would merge the newlines when tokenizing the whole string).
/// </summary>
public sealed class QwenChatTemplate : IChatTemplate
{
    public const string DefaultSystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string ToolCallOpen = "<tool_call>";
    public const string ToolCallClose = "</tool_call>";
    public const string EndOfText = "<|endoftext|>";

    private const string ToolsPreamble =
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";

    private const string ToolsPostamble =
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    private readonly string? _defaultSystemPrompt;

    /// <param name="tokenizer">A tokenizer with the ChatML special tokens (Qwen's, or a byte-level one with them).</param>
    /// <param name="defaultSystemPrompt">The system prompt when a conversation has none; null: no system turn then (tools still get one).</param>
    public QwenChatTemplate(ITokenizer tokenizer, string? defaultSystemPrompt = DefaultSystemPrompt)
    {
        Tokenizer = tokenizer;
        _defaultSystemPrompt = defaultSystemPrompt;
        EndOfTurnId = SpecialId(tokenizer, ImEnd);
        ToolCallEndId = tokenizer.TokenToId(ToolCallClose)
            ?? throw new ArgumentException($"The tokenizer has no '{ToolCallClose}' token.", nameof(tokenizer));
        var stops = new List<(int, string)> { (ToolCallEndId, ToolCallClose), (EndOfTurnId, ImEnd) };
        if (tokenizer.TokenToId(EndOfText) is { } eot)
        {
            stops.Add((eot, EndOfText));
        }

        if (!stops.Any(s => s.Item1 == tokenizer.EosId))
        {
            stops.Add((tokenizer.EosId, tokenizer.IdToToken(tokenizer.EosId)!));
        }

        StopTokenIds = [.. stops.Select(s => s.Item1)];
        StopStrings = [.. stops.Select(s => s.Item2)];
    }

    public ITokenizer Tokenizer { get; }
    public IReadOnlyList<int> StopTokenIds { get; }
    public IReadOnlyList<string> StopStrings { get; }
    public int ToolCallEndId { get; }
    public int EndOfTurnId { get; }

    public string Render(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt) =>
        Build(messages, tools, addGenerationPrompt).Render();

    public int[] Encode(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt) =>
        Build(messages, tools, addGenerationPrompt).Encode(Tokenizer);

    public int[] Start(string? system, IReadOnlyList<ToolSpec> tools, string user)
    {
        List<ChatMessage> messages = system is null ? [] : [ChatMessage.System(system)];
        messages.Add(ChatMessage.User(user));
        return Encode(messages, tools, addGenerationPrompt: true);
    }

    public int[] ToolResults(ReadOnlySpan<int> generated, IReadOnlyList<ToolResult> results)
    {
        if (results.Count == 0)
        {
            throw new ArgumentException("At least one tool result is needed.", nameof(results));
        }

        var pieces = CloseTurn(generated);
        pieces.Special(ImStart).Text("user");
        foreach (var result in results)
        {
            pieces.Text("\n<tool_response>\n" + result.Text + "\n</tool_response>");
        }

        pieces.Special(ImEnd).Text("\n").Special(ImStart).Text("assistant\n");
        return pieces.Encode(Tokenizer);
    }

    public int[] UserTurn(ReadOnlySpan<int> generated, string text)
    {
        var pieces = CloseTurn(generated);
        pieces.Special(ImStart).Text("user\n" + text).Special(ImEnd).Text("\n").Special(ImStart).Text("assistant\n");
        return pieces.Encode(Tokenizer);
    }

    public int[] EncodeAssistantTurn(ChatMessage assistant)
    {
        var pieces = new TemplatePieces();
        if (assistant.ToolCalls is { Count: > 0 } calls)
        {
            // Rendered as "<|im_start|>assistant" + "\n" + content (if any) + "\n<tool_call>…"; the generation prefix
            // already holds "assistant\n", so the model writes the rest without the first newline.
            var text = AssistantWithCalls(assistant.Content, calls);
            pieces.Text(text[1..]);
        }
        else
        {
            pieces.Text(assistant.Content).Special(ImEnd);
        }

        return pieces.Encode(Tokenizer);
    }

    /// <summary>The JSON line of a tool in the system prompt.</summary>
    public static string ToolJson(ToolSpec tool)
    {
        string parameters;
        try
        {
            using var schema = JsonDocument.Parse(tool.ParametersSchemaJson);
            parameters = JsonText.Python(schema.RootElement);
        }
        catch (JsonException error)
        {
            throw new ArgumentException($"Tool '{tool.Name}' has invalid parameters JSON schema.", nameof(tool), error);
        }

        return "{\"type\": \"function\", \"function\": {\"name\": " + JsonText.Quote(tool.Name)
            + ", \"description\": " + JsonText.Quote(tool.Description)
            + ", \"parameters\": " + parameters + "}}";
    }

    private TemplatePieces CloseTurn(ReadOnlySpan<int> generated)
    {
        var pieces = new TemplatePieces();
        if (generated.IsEmpty || generated[^1] != EndOfTurnId)
        {
            pieces.Special(ImEnd);
        }

        return pieces.Text("\n");
    }

    private TemplatePieces Build(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt)
    {
        var pieces = new TemplatePieces();
        var firstIsSystem = messages.Count > 0 && messages[0].Role == ChatRole.System;
        if (tools.Count > 0)
        {
            var system = new StringBuilder("system\n");
            system.Append(firstIsSystem ? messages[0].Content : _defaultSystemPrompt ?? string.Empty);
            system.Append(ToolsPreamble);
            foreach (var tool in tools)
            {
                system.Append('\n').Append(ToolJson(tool));
            }

            system.Append(ToolsPostamble);
            pieces.Special(ImStart).Text(system.ToString()).Special(ImEnd).Text("\n");
        }
        else if (firstIsSystem || _defaultSystemPrompt is not null)
        {
            pieces.Special(ImStart).Text("system\n" + (firstIsSystem ? messages[0].Content : _defaultSystemPrompt)).Special(ImEnd).Text("\n");
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            switch (message.Role)
            {
                case ChatRole.System when i == 0:
                    break;
                case ChatRole.User or ChatRole.System:
                case ChatRole.Assistant when message.ToolCalls is not { Count: > 0 }:
                    pieces.Special(ImStart).Text(RoleName(message.Role) + "\n" + message.Content).Special(ImEnd).Text("\n");
                    break;
                case ChatRole.Assistant:
                    pieces.Special(ImStart).Text("assistant" + AssistantWithCalls(message.Content, message.ToolCalls!)).Special(ImEnd).Text("\n");
                    break;
                case ChatRole.Tool:
                    if (i == 0 || messages[i - 1].Role != ChatRole.Tool)
                    {
                        pieces.Special(ImStart).Text("user");
                    }

                    pieces.Text("\n<tool_response>\n" + message.Content + "\n</tool_response>");
                    if (i == messages.Count - 1 || messages[i + 1].Role != ChatRole.Tool)
                    {
                        pieces.Special(ImEnd).Text("\n");
                    }

                    break;
            }
        }

        if (addGenerationPrompt)
        {
            pieces.Special(ImStart).Text("assistant\n");
        }

        return pieces;
    }

    /// <summary>The assistant text after the role name: <c>\n{content}</c> when there is content, then each <c>\n&lt;tool_call&gt;…</c>.</summary>
    private static string AssistantWithCalls(string content, IReadOnlyList<ToolCall> calls)
    {
        var text = new StringBuilder();
        if (content.Length > 0)
        {
            text.Append('\n').Append(content);
        }

        foreach (var call in calls)
        {
            text.Append("\n<tool_call>\n{\"name\": \"").Append(call.Name).Append("\", \"arguments\": ")
                .Append(JsonText.Reformat(call.ArgumentsJson, minified: false)).Append("}\n</tool_call>");
        }

        return text.ToString();
    }

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        _ => "tool",
    };

    private static int SpecialId(ITokenizer tokenizer, string token) =>
        tokenizer.TokenToId(token) ?? throw new ArgumentException($"The tokenizer has no '{token}' token.", nameof(tokenizer));
}
