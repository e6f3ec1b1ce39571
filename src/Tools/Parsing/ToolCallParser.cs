using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Catalog;

namespace AgentRl.Tools.Parsing;

/// <summary>A trigger tag (<c>&lt;python&gt;…&lt;/python&gt;</c>) bound to a tool and the argument that receives the tag's body.</summary>
public sealed class TagToolBinding
{
    public string ToolName { get; set; } = string.Empty;

    public string ArgumentName { get; set; } = string.Empty;
}

/// <summary>Which call formats <see cref="ToolCallParser"/> recognises. Bound from <c>AgentRl:Tools:CallFormat</c>.</summary>
public sealed class ToolCallFormatOptions
{
    public const string SectionName = "AgentRl:Tools:CallFormat";

    /// <summary>Recognise Hermes/Qwen <c>&lt;tool_call&gt;{"name": …, "arguments": …}&lt;/tool_call&gt;</c>. Default true.</summary>
    public bool Hermes { get; set; } = true;

    /// <summary>
    /// Trigger tags (ARPO): tag name → tool + argument. Defaults: <c>python</c> → <c>python-run</c>(<c>code</c>),
    /// <c>search</c> → <c>kb-search</c>(<c>query</c>).
    /// </summary>
    public Dictionary<string, TagToolBinding> Tags { get; set; } = new(StringComparer.Ordinal)
    {
        ["python"] = new TagToolBinding { ToolName = "python-run", ArgumentName = "code" },
        ["search"] = new TagToolBinding { ToolName = "kb-search", ArgumentName = "query" },
    };

    /// <summary>
    /// Treat an opening tag with no closing tag at the very end as a complete call (generation usually stops on the
    /// closing tag, and engines may drop the stop string). Default true.
    /// </summary>
    public bool AcceptUnclosedFinalBlock { get; set; } = true;
}

/// <summary>
/// One call found in assistant text. A malformed block still yields a call (<see cref="Error"/> set, the best-effort
/// name and the raw body as <see cref="ToolCall.ArgumentsJson"/>), which <see cref="ParsedToolCallExtensions.ExecuteAsync"/>
/// turns into a <see cref="ToolErrorKinds.BadJson"/> observation, so the model sees what went wrong.
/// </summary>
public sealed record ParsedToolCall(ToolCall Call, string Raw, string? Error = null)
{
    [MemberNotNullWhen(true, nameof(Error))]
    public bool IsMalformed => Error is not null;
}

/// <summary>Assistant text split into its prose (call blocks removed, trimmed) and its calls in order of appearance.</summary>
public sealed record ParsedAssistantTurn(string Content, IReadOnlyList<ParsedToolCall> Calls)
{
    public IEnumerable<string> Errors => Calls.Where(c => c.IsMalformed).Select(c => c.Error!);
}

/// <summary>
/// Finds tool calls in generated text: Hermes/Qwen <c>&lt;tool_call&gt;</c> JSON blocks (arguments an object or a JSON
/// string holding one) and trigger tags (<c>&lt;python&gt;code&lt;/python&gt;</c>) mapped by <see cref="ToolCallFormatOptions"/>.
/// Pure and thread-safe.
/// </summary>
public sealed partial class ToolCallParser
{
    private const string HermesTag = "tool_call";

    private readonly ToolCallFormatOptions _options;
    private readonly List<string> _tags = [];

    public ToolCallParser(ToolCallFormatOptions? options = null)
    {
        _options = options ?? new ToolCallFormatOptions();
        if (_options.Hermes)
        {
            _tags.Add(HermesTag);
        }

        foreach (var (tag, binding) in _options.Tags)
        {
            if (string.IsNullOrWhiteSpace(tag) || string.IsNullOrWhiteSpace(binding.ToolName) || string.IsNullOrWhiteSpace(binding.ArgumentName))
            {
                throw new ArgumentException($"trigger tag '{tag}' needs a tag name, a ToolName and an ArgumentName", nameof(options));
            }

            _tags.Add(tag);
        }
    }

    public ParsedAssistantTurn Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var content = new StringBuilder();
        var calls = new List<ParsedToolCall>();
        var pos = 0;
        while (pos < text.Length)
        {
            var (tag, open) = FindOpening(text, pos);
            if (tag is null)
            {
                content.Append(text, pos, text.Length - pos);
                break;
            }

            content.Append(text, pos, open - pos);
            var bodyStart = open + tag.Length + 2;
            var closing = "</" + tag + ">";
            var close = text.IndexOf(closing, bodyStart, StringComparison.Ordinal);
            string body;
            if (close >= 0)
            {
                body = text[bodyStart..close];
                pos = close + closing.Length;
            }
            else if (_options.AcceptUnclosedFinalBlock)
            {
                body = text[bodyStart..];
                pos = text.Length;
            }
            else
            {
                content.Append(text, open, text.Length - open);
                break;
            }

            var raw = text[open..pos];
            calls.Add(tag == HermesTag ? ParseHermes(body, raw) : ParseTag(tag, body, raw));
        }

        return new ParsedAssistantTurn(content.ToString().Trim(), calls);
    }

    private (string? Tag, int Index) FindOpening(string text, int from)
    {
        string? best = null;
        var bestIndex = int.MaxValue;
        foreach (var tag in _tags)
        {
            var index = text.IndexOf("<" + tag + ">", from, StringComparison.Ordinal);
            if (index >= 0 && index < bestIndex)
            {
                best = tag;
                bestIndex = index;
            }
        }

        return (best, bestIndex);
    }

    private ParsedToolCall ParseTag(string tag, string body, string raw)
    {
        var binding = _options.Tags[tag];
        // Blank lines around the body go; a multi-line body keeps its indentation (it may be code).
        var value = StripFence(body).Trim('\n', '\r');
        value = value.Contains('\n', StringComparison.Ordinal) ? value.TrimEnd() : value.Trim();

        string arguments;
        try
        {
            arguments = JsonSerializer.Serialize(new Dictionary<string, string> { [binding.ArgumentName] = value });
        }
        catch (ArgumentException)
        {
            return Malformed(binding.ToolName, value, raw, UnpairedSurrogate);
        }

        return new ParsedToolCall(new ToolCall(binding.ToolName, arguments), raw);
    }

    private const string UnpairedSurrogate = "the tool call is not valid text: it holds an unpaired UTF-16 surrogate";

    private static ParsedToolCall ParseHermes(string body, string raw)
    {
        var json = body.Trim();
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            var name = NameProbe().Match(json) is { Success: true } m ? m.Groups[1].Value : string.Empty;
            return Malformed(name, json, raw, $"the tool call is not valid JSON ({ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0]})");
        }
        catch (ArgumentException)
        {
            // Found by HostileInputTests: text with an unpaired UTF-16 surrogate cannot be transcoded to UTF-8 for the JSON reader.
            var name = NameProbe().Match(json) is { Success: true } m ? m.Groups[1].Value : string.Empty;
            return Malformed(name, json, raw, UnpairedSurrogate);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return Malformed(string.Empty, json, raw, "the tool call must be a JSON object with \"name\" and \"arguments\"");
        }

        if (!root.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(nameElement.GetString()))
        {
            return Malformed(string.Empty, json, raw, "the tool call has no \"name\" string");
        }

        var toolName = nameElement.GetString()!.Trim();
        if (!root.TryGetProperty("arguments", out var arguments) && !root.TryGetProperty("parameters", out arguments))
        {
            return new ParsedToolCall(new ToolCall(toolName, "{}"), raw);
        }

        switch (arguments.ValueKind)
        {
            case JsonValueKind.Object:
                return new ParsedToolCall(new ToolCall(toolName, arguments.GetRawText()), raw);
            case JsonValueKind.Null:
                return new ParsedToolCall(new ToolCall(toolName, "{}"), raw);
            case JsonValueKind.String:
                var inner = arguments.GetString()!;
                if (string.IsNullOrWhiteSpace(inner))
                {
                    return new ParsedToolCall(new ToolCall(toolName, "{}"), raw);
                }

                try
                {
                    using var innerDocument = JsonDocument.Parse(inner);
                    if (innerDocument.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        return new ParsedToolCall(new ToolCall(toolName, innerDocument.RootElement.GetRawText()), raw);
                    }
                }
                catch (Exception e) when (e is JsonException or ArgumentException)
                {
                }

                return Malformed(toolName, inner, raw, "\"arguments\" is a string that does not hold a JSON object");
            default:
                return Malformed(toolName, arguments.GetRawText(), raw, "\"arguments\" must be a JSON object");
        }
    }

    private static ParsedToolCall Malformed(string name, string body, string raw, string error) =>
        new(new ToolCall(name, body), raw, error);

    private static string StripFence(string body)
    {
        var match = Fence().Match(body);
        return match.Success ? match.Groups[1].Value : body;
    }

    [GeneratedRegex("\"name\"\\s*:\\s*\"([^\"]*)\"")]
    private static partial Regex NameProbe();

    [GeneratedRegex("^\\s*```[A-Za-z0-9_+-]*[ \\t]*\\r?\\n(.*?)\\r?\\n?```\\s*$", RegexOptions.Singleline)]
    private static partial Regex Fence();
}

/// <summary>Runs parsed calls: a malformed call becomes a <see cref="ToolErrorKinds.BadJson"/> observation without reaching a tool.</summary>
public static class ParsedToolCallExtensions
{
    /// <summary>The <see cref="ToolErrorKinds.BadJson"/> observation a malformed call becomes, telling the model the expected form.</summary>
    public static ToolObservation MalformedObservation(ParsedToolCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var name = call.Call.Name;
        var message = $"Malformed tool call{(name.Length > 0 ? $" to {name}" : string.Empty)}: {call.Error}. " +
            "Write <tool_call>{\"name\": \"tool-name\", \"arguments\": {...}}</tool_call>.";
        return new ToolObservation(name, message, true, ToolErrorKinds.BadJson, 0);
    }

    public static Task<ToolObservation> ExecuteAsync(
        this IToolExecutor executor, ParsedToolCall call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(call);
        if (call.IsMalformed)
        {
            return Task.FromResult(MalformedObservation(call));
        }

        return executor.ExecuteAsync(call.Call, cancellationToken);
    }
}
