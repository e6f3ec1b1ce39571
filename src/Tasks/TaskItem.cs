using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks;

/// <summary>Which split an item belongs to. Train and eval items never share a problem.</summary>
public enum TaskSplit
{
    Train,
    Eval,
}

/// <summary>
/// One problem of a task: the user prompt, the reference answer, task-specific metadata (everything needed to
/// rebuild a demonstration, e.g. the expression or the chain of look-ups) and the per-item knowledge base
/// (<see cref="Documents"/>, empty for tasks that do not search).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.task-item.v1")]
public sealed record TaskItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Task,
    [property: Id(2)] string Prompt,
    [property: Id(3)] string Answer,
    [property: Id(4)] TaskSplit Split,
    [property: Id(5)] IReadOnlyDictionary<string, string> Metadata,
    [property: Id(6)] IReadOnlyList<KbDocument> Documents)
{
    /// <summary>A metadata value the task wrote; a clear error when an imported item lacks it.</summary>
    public string RequireMetadata(string key) =>
        Metadata.TryGetValue(key, out var value)
            ? value
            : throw new InvalidOperationException($"Task item '{Id}' of task '{Task}' has no metadata '{key}'.");

    /// <summary>Value equality, including metadata (order-insensitive) and documents (in order).</summary>
    public bool Equals(TaskItem? other) =>
        other is not null
        && Id == other.Id
        && Task == other.Task
        && Prompt == other.Prompt
        && Answer == other.Answer
        && Split == other.Split
        && Metadata.Count == other.Metadata.Count
        && Metadata.All(kv => other.Metadata.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && Documents.SequenceEqual(other.Documents);

    public override int GetHashCode() => HashCode.Combine(Id, Task, Prompt, Answer, Split);
}
