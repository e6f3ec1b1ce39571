using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks.Data;

/// <summary>A line of a JSONL file that could not be read.</summary>
public sealed record JsonlError(int LineNumber, string Message)
{
    public override string ToString() => $"line {LineNumber}: {Message}";
}

/// <summary>The items read from a JSONL file and the lines that were skipped, with why.</summary>
public sealed record JsonlReadResult(IReadOnlyList<TaskItem> Items, IReadOnlyList<JsonlError> Errors);

/// <summary>
/// Task items as JSON Lines, one item per line:
/// <c>{"id","task","split":"train|eval","prompt","answer","metadata":{…},"documents":[{"id","title","text"}]}</c>.
/// Reading never stops at a bad line: the error is reported with its 1-based line number and the rest still loads.
/// </summary>
public static class TaskItemJsonl
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Write(TextWriter writer, IEnumerable<TaskItem> items)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            var line = new Line
            {
                Id = item.Id,
                Task = item.Task,
                Split = item.Split == TaskSplit.Eval ? "eval" : "train",
                Prompt = item.Prompt,
                Answer = item.Answer,
                Metadata = item.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value),
                Documents = item.Documents.Select(d => (DocumentLine?)new DocumentLine { Id = d.Id, Title = d.Title, Text = d.Text }).ToList(),
            };
            writer.Write(JsonSerializer.Serialize(line, Options));
            writer.Write('\n');
        }
    }

    public static void WriteFile(string path, IEnumerable<TaskItem> items)
    {
        using var writer = new StreamWriter(path);
        Write(writer, items);
    }

    /// <summary>
    /// Reads every line; blank lines are skipped. <paramref name="validate"/>, when given, may reject an item
    /// with a message (e.g. a task checking its metadata), reported like a malformed line.
    /// </summary>
    public static JsonlReadResult Read(TextReader reader, Func<TaskItem, string?>? validate = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var items = new List<TaskItem>();
        var errors = new List<JsonlError>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } text)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var (item, error) = ParseLine(text);
            error ??= item is null ? "empty item" : validate?.Invoke(item);
            if (error is not null)
            {
                errors.Add(new JsonlError(lineNumber, error));
            }
            else
            {
                items.Add(item!);
            }
        }

        return new JsonlReadResult(items, errors);
    }

    public static JsonlReadResult ReadFile(string path, Func<TaskItem, string?>? validate = null)
    {
        using var reader = new StreamReader(path);
        return Read(reader, validate);
    }

    private static (TaskItem? Item, string? Error) ParseLine(string text)
    {
        Line? line;
        try
        {
            line = JsonSerializer.Deserialize<Line>(text, Options);
        }
        catch (JsonException e)
        {
            return (null, $"invalid JSON: {e.Message}");
        }

        if (line is null)
        {
            return (null, "expected a JSON object, got null");
        }

        var missing = new[] { ("id", line.Id), ("task", line.Task), ("prompt", line.Prompt), ("answer", line.Answer) }
            .Where(f => string.IsNullOrEmpty(f.Item2))
            .Select(f => f.Item1)
            .ToList();
        if (missing.Count > 0)
        {
            return (null, $"missing required field(s): {string.Join(", ", missing)}");
        }

        TaskSplit split;
        switch (line.Split)
        {
            case null or "train":
                split = TaskSplit.Train;
                break;
            case "eval":
                split = TaskSplit.Eval;
                break;
            default:
                return (null, $"split must be 'train' or 'eval', got '{line.Split}'");
        }

        var documents = new List<KbDocument>();
        foreach (var d in line.Documents ?? [])
        {
            if (d is null || string.IsNullOrEmpty(d.Id) || d.Text is null)
            {
                return (null, "every document needs an 'id' and a 'text'");
            }

            documents.Add(new KbDocument(d.Id, d.Title ?? string.Empty, d.Text));
        }

        var metadata = (IReadOnlyDictionary<string, string>?)line.Metadata ?? new Dictionary<string, string>();
        return (new TaskItem(line.Id!, line.Task!, line.Prompt!, line.Answer!, split, metadata, documents), null);
    }

    private sealed class Line
    {
        public string? Id { get; set; }

        public string? Task { get; set; }

        public string? Split { get; set; }

        public string? Prompt { get; set; }

        public string? Answer { get; set; }

        public Dictionary<string, string>? Metadata { get; set; }

        public List<DocumentLine?>? Documents { get; set; }
    }

    private sealed class DocumentLine
    {
        public string? Id { get; set; }

        public string? Title { get; set; }

        public string? Text { get; set; }
    }
}
