using System.Text;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Chat;

/// <summary>
/// A chat format for tiny models with the <see cref="ByteLevelTokenizer"/> and a 256-token context: one special token
/// per turn marker, tool tags as single tokens, tool results inside the assistant turn, tools listed by name and
/// argument names only.
/// <code>
/// &lt;|system|&gt;{system}\ntools: python(code), kb-search(query)&lt;|end|&gt;
/// &lt;|user|&gt;{text}&lt;|end|&gt;
/// &lt;|assistant|&gt;{content}&lt;tool_call&gt;{"name":"python","arguments":{"code":"1+1"}}&lt;/tool_call&gt;&lt;tool_response&gt;2&lt;/tool_response&gt;{content}&lt;|end|&gt;
/// </code>
/// An assistant message with tool calls leaves its turn open: the tool results follow inside it and the next assistant
/// message continues it. An assistant message without tool calls ends with <c>&lt;|end|&gt;</c>. The generation prefix
/// is <c>&lt;|assistant|&gt;</c>, or nothing when the turn is still open.
/// </summary>
public sealed class CompactChatTemplate : IChatTemplate
{
    public const string SystemMarker = "<|system|>";
    public const string UserMarker = "<|user|>";
    public const string AssistantMarker = "<|assistant|>";
    public const string EndMarker = "<|end|>";
    public const string ToolCallOpen = "<tool_call>";
    public const string ToolCallClose = "</tool_call>";
    public const string ToolResponseOpen = "<tool_response>";
    public const string ToolResponseClose = "</tool_response>";

    public CompactChatTemplate(ITokenizer tokenizer)
    {
        Tokenizer = tokenizer;
        foreach (var marker in new[] { SystemMarker, UserMarker, AssistantMarker, EndMarker })
        {
            if (tokenizer.TokenToId(marker) is not { } id || !tokenizer.IsSpecial(id))
            {
                throw new ArgumentException($"The tokenizer has no special token '{marker}'.", nameof(tokenizer));
            }
        }

        foreach (var tag in new[] { ToolCallOpen, ToolCallClose, ToolResponseOpen, ToolResponseClose })
        {
            if (tokenizer.Encode(tag, allowSpecial: false).Length != 1)
            {
                throw new ArgumentException($"The tokenizer has no single token for '{tag}'.", nameof(tokenizer));
            }
        }

        EndOfTurnId = tokenizer.TokenToId(EndMarker)!.Value;
        ToolCallEndId = tokenizer.TokenToId(ToolCallClose)!.Value;
        StopTokenIds = [ToolCallEndId, EndOfTurnId, tokenizer.EosId];
        StopStrings = [ToolCallClose, EndMarker, tokenizer.IdToToken(tokenizer.EosId)!];
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

        var pieces = new TemplatePieces();
        if (!generated.IsEmpty && generated[^1] == EndOfTurnId)
        {
            pieces.Special(AssistantMarker);
        }

        foreach (var result in results)
        {
            pieces.Text(ToolResponseOpen + result.Text + ToolResponseClose);
        }

        return pieces.Encode(Tokenizer);
    }

    public int[] UserTurn(ReadOnlySpan<int> generated, string text)
    {
        var pieces = new TemplatePieces();
        if (generated.IsEmpty || generated[^1] != EndOfTurnId)
        {
            pieces.Special(EndMarker);
        }

        pieces.Special(UserMarker).Text(text).Special(EndMarker).Special(AssistantMarker);
        return pieces.Encode(Tokenizer);
    }

    public int[] EncodeAssistantTurn(ChatMessage assistant)
    {
        var pieces = new TemplatePieces();
        AppendAssistantBody(pieces, assistant);
        return pieces.Encode(Tokenizer);
    }

    /// <summary>The tools line of the system turn: <c>tools: name(arg, arg), name()</c>.</summary>
    public static string ToolsLine(IReadOnlyList<ToolSpec> tools)
    {
        var line = new StringBuilder("tools: ");
        for (var i = 0; i < tools.Count; i++)
        {
            if (i > 0)
            {
                line.Append(", ");
            }

            line.Append(tools[i].Name).Append('(').AppendJoin(", ", ArgumentNames(tools[i])).Append(')');
        }

        return line.ToString();
    }

    private static IEnumerable<string> ArgumentNames(ToolSpec tool)
    {
        using var schema = JsonDocument.Parse(tool.ParametersSchemaJson);
        if (schema.RootElement.ValueKind != JsonValueKind.Object
            || !schema.RootElement.TryGetProperty("properties", out var properties)
            || properties.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        return [.. properties.EnumerateObject().Select(p => p.Name)];
    }

    private static void AppendAssistantBody(TemplatePieces pieces, ChatMessage assistant)
    {
        pieces.Text(assistant.Content);
        if (assistant.ToolCalls is { Count: > 0 } calls)
        {
            foreach (var call in calls)
            {
                pieces.Text(ToolCallOpen + "{\"name\":" + JsonText.Quote(call.Name) + ",\"arguments\":"
                    + JsonText.Reformat(call.ArgumentsJson, minified: true) + "}" + ToolCallClose);
            }
        }
        else
        {
            pieces.Special(EndMarker);
        }
    }

    private TemplatePieces Build(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolSpec> tools, bool addGenerationPrompt)
    {
        var pieces = new TemplatePieces();
        var firstIsSystem = messages.Count > 0 && messages[0].Role == ChatRole.System;
        if (firstIsSystem || tools.Count > 0)
        {
            var system = firstIsSystem ? messages[0].Content : string.Empty;
            if (tools.Count > 0)
            {
                system += (system.Length > 0 ? "\n" : string.Empty) + ToolsLine(tools);
            }

            pieces.Special(SystemMarker).Text(system).Special(EndMarker);
        }

        var open = false;
        for (var i = firstIsSystem ? 1 : 0; i < messages.Count; i++)
        {
            var message = messages[i];
            switch (message.Role)
            {
                case ChatRole.System or ChatRole.User:
                    if (open)
                    {
                        pieces.Special(EndMarker);
                        open = false;
                    }

                    pieces.Special(message.Role == ChatRole.User ? UserMarker : SystemMarker).Text(message.Content).Special(EndMarker);
                    break;
                case ChatRole.Assistant:
                    if (!open)
                    {
                        pieces.Special(AssistantMarker);
                    }

                    AppendAssistantBody(pieces, message);
                    open = message.ToolCalls is { Count: > 0 };
                    break;
                case ChatRole.Tool:
                    if (!open)
                    {
                        pieces.Special(AssistantMarker);
                        open = true;
                    }

                    pieces.Text(ToolResponseOpen + message.Content + ToolResponseClose);
                    break;
            }
        }

        if (addGenerationPrompt && !open)
        {
            pieces.Special(AssistantMarker);
        }

        return pieces;
    }
}
