using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks.Jsonl;

/// <summary>One item line of a <c>jsonl</c> data file, as written (before the task's options apply).</summary>
internal sealed record JsonlItemLine(
    int Line,
    string? Id,
    string Prompt,
    string Answer,
    TaskSplit? Split,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<KbDocument> Documents);

/// <summary>One turn after the prompt of a gold conversation; a tool turn without <see cref="Content"/> is filled by calling the tool.</summary>
internal sealed record JsonlTurn(ChatRole Role, string? Content, IReadOnlyList<ToolCall>? Calls, string? ToolName);

/// <summary>One line of a <c>demonstrations</c> file: the prompt it is for and the turns after it.</summary>
internal sealed record JsonlConversationLine(int Line, string Prompt, IReadOnlyList<JsonlTurn> Turns);

/// <summary>A file's lines that parsed and, for the others, their 1-based line number and why.</summary>
internal sealed record JsonlFileLines<T>(IReadOnlyList<T> Lines, IReadOnlyList<(int Line, string Message)> Errors);

/// <summary>
/// Reads the <c>jsonl</c> task's files. Each file is parsed once per (full path, modification time, length): the
/// episodes, evaluations and warm starts of every run on a process share one parse until the file changes.
/// </summary>
internal static class JsonlFiles
{
    private static readonly ConcurrentDictionary<(string Kind, string Path), (DateTime Modified, long Length, object Lines)> Cache = new();

    private static readonly JsonSerializerOptions ArgumentsJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] ItemFields = ["prompt", "answer", "metadata", "split", "id", "documents"];
    private static readonly string[] ConversationFields = ["prompt", "messages"];
    private static readonly string[] TurnFields = ["role", "content", "toolCalls", "name"];
    private static readonly string[] CallFields = ["name", "arguments"];
    private static readonly string[] DocumentFields = ["id", "title", "text"];

    /// <exception cref="ArgumentException">The file does not exist or cannot be read (the message names <paramref name="option"/>).</exception>
    public static JsonlFileLines<JsonlItemLine> Items(string option, string path) => Read(option, path, "items", ParseItem);

    /// <exception cref="ArgumentException">The file does not exist or cannot be read (the message names <paramref name="option"/>).</exception>
    public static JsonlFileLines<JsonlConversationLine> Conversations(string option, string path) => Read(option, path, "conversations", ParseConversation);

    private static JsonlFileLines<T> Read<T>(string option, string path, string kind, Func<JsonElement, int, T> parse)
    {
        var full = System.IO.Path.GetFullPath(path);
        var file = new FileInfo(full);
        if (!file.Exists)
        {
            throw new ArgumentException($"taskOptions.{option}: file '{path}' not found ({full}).");
        }

        if (Cache.TryGetValue((kind, full), out var cached) && cached.Modified == file.LastWriteTimeUtc && cached.Length == file.Length)
        {
            return (JsonlFileLines<T>)cached.Lines;
        }

        var lines = new List<T>();
        var errors = new List<(int, string)>();
        try
        {
            var number = 0;
            foreach (var text in File.ReadLines(full))
            {
                number++;
                if (string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                try
                {
                    using var document = JsonDocument.Parse(text);
                    lines.Add(parse(document.RootElement, number));
                }
                catch (JsonException e)
                {
                    errors.Add((number, $"invalid JSON: {e.Message}"));
                }
                catch (FormatException e)
                {
                    errors.Add((number, e.Message));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"taskOptions.{option}: cannot read '{path}': {e.Message}", e);
        }

        var result = new JsonlFileLines<T>(lines, errors);
        Cache[(kind, full)] = (file.LastWriteTimeUtc, file.Length, result);
        return result;
    }

    private static JsonlItemLine ParseItem(JsonElement root, int line)
    {
        CheckFields(root, ItemFields, "an item");
        var prompt = RequiredString(root, "prompt");
        var answer = root.TryGetProperty("answer", out var a)
            ? a.ValueKind switch
            {
                JsonValueKind.String => a.GetString()!,
                JsonValueKind.Number => a.GetRawText(),
                _ => throw new FormatException("\"answer\" must be a string or a number"),
            }
            : throw new FormatException("\"answer\" is missing");
        if (answer.Trim().Length == 0)
        {
            throw new FormatException("\"answer\" is empty");
        }

        TaskSplit? split = OptionalString(root, "split") switch
        {
            null => null,
            "train" => TaskSplit.Train,
            "eval" => TaskSplit.Eval,
            var other => throw new FormatException($"\"split\" must be \"train\" or \"eval\", got \"{other}\""),
        };
        var id = OptionalString(root, "id");
        if (id is { } given && given.Trim().Length == 0)
        {
            throw new FormatException("\"id\" is empty");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("metadata", out var m))
        {
            if (m.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("\"metadata\" must be an object");
            }

            foreach (var entry in m.EnumerateObject())
            {
                metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
            }
        }

        var documents = new List<KbDocument>();
        if (root.TryGetProperty("documents", out var d))
        {
            if (d.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("\"documents\" must be an array of {\"id\", \"title\", \"text\"}");
            }

            foreach (var document in d.EnumerateArray())
            {
                CheckFields(document, DocumentFields, "a document");
                documents.Add(new KbDocument(RequiredString(document, "id"), OptionalString(document, "title") ?? string.Empty, RequiredString(document, "text")));
            }
        }

        return new JsonlItemLine(line, id, prompt, answer, split, metadata, documents);
    }

    private static JsonlConversationLine ParseConversation(JsonElement root, int line)
    {
        CheckFields(root, ConversationFields, "a conversation");
        var prompt = RequiredString(root, "prompt");
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new FormatException("\"messages\" must be a non-empty array of the assistant and tool turns after the prompt");
        }

        var turns = new List<JsonlTurn>();
        var pending = new Queue<string>();
        foreach (var (message, index) in messages.EnumerateArray().Select((m, i) => (m, i + 1)))
        {
            CheckFields(message, TurnFields, $"message {index}");
            var role = RequiredString(message, "role");
            switch (role)
            {
                case "assistant":
                    if (pending.Count > 0)
                    {
                        throw new FormatException($"message {index}: the tool call(s) {string.Join(", ", pending)} of an earlier assistant turn have no tool turn");
                    }

                    var calls = Calls(message, index);
                    foreach (var call in calls ?? [])
                    {
                        pending.Enqueue(call.Name);
                    }

                    turns.Add(new JsonlTurn(ChatRole.Assistant, OptionalString(message, "content") ?? string.Empty, calls, null));
                    break;
                case "tool":
                    var name = RequiredString(message, "name", $"message {index}: ");
                    if (!pending.TryDequeue(out var expected))
                    {
                        throw new FormatException($"message {index}: a tool turn ('{name}') answers no tool call");
                    }

                    if (name != expected)
                    {
                        throw new FormatException($"message {index}: the tool turn is named '{name}' but answers a call of '{expected}'");
                    }

                    turns.Add(new JsonlTurn(ChatRole.Tool, OptionalString(message, "content"), null, name));
                    break;
                default:
                    throw new FormatException($"message {index}: role must be \"assistant\" or \"tool\" (the system prompt and the user prompt come from the task), got \"{role}\"");
            }
        }

        if (turns[^1] is not { Role: ChatRole.Assistant, Calls: null })
        {
            throw new FormatException("the last message must be an assistant turn without tool calls: the final answer");
        }

        return new JsonlConversationLine(line, prompt, turns);
    }

    private static IReadOnlyList<ToolCall>? Calls(JsonElement message, int index)
    {
        if (!message.TryGetProperty("toolCalls", out var calls) || calls.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"message {index}: \"toolCalls\" must be an array of {{\"name\", \"arguments\"}}");
        }

        var result = new List<ToolCall>();
        foreach (var call in calls.EnumerateArray())
        {
            CheckFields(call, CallFields, $"a tool call of message {index}");
            var name = RequiredString(call, "name", $"message {index}: a tool call's ");
            var arguments = call.TryGetProperty("arguments", out var a) ? a : default;
            var json = arguments.ValueKind switch
            {
                JsonValueKind.Object => JsonSerializer.Serialize(arguments, ArgumentsJson),
                JsonValueKind.String when IsObject(arguments.GetString()!) => arguments.GetString()!,
                JsonValueKind.Undefined => "{}",
                _ => throw new FormatException($"message {index}: the arguments of '{name}' must be a JSON object"),
            };
            result.Add(new ToolCall(name, json));
        }

        return result.Count == 0 ? null : result;
    }

    private static void CheckFields(JsonElement element, string[] known, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{what} must be a JSON object");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new FormatException($"unknown field \"{property.Name}\" in {what}; known: {string.Join(", ", known)}.{NameSuggestions.DidYouMean(property.Name, known)}");
            }
        }
    }

    private static string RequiredString(JsonElement element, string field, string prefix = "") =>
        element.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Trim().Length > 0
            ? value.GetString()!
            : throw new FormatException($"{prefix}\"{field}\" must be a non-empty string");

    private static string? OptionalString(JsonElement element, string field) =>
        !element.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new FormatException($"\"{field}\" must be a string");

    private static bool IsObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
