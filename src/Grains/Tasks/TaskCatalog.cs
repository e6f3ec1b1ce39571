using System.Collections.Concurrent;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;

namespace AgentRl.Grains.Tasks;

/// <summary>The bundled tasks on this silo, one instance per name (tasks are pure and thread-safe), and task items on the wire.</summary>
public sealed class TaskCatalog
{
    private readonly TaskRegistry _registry = TaskRegistry.CreateDefault();
    private readonly ConcurrentDictionary<string, IAgentTask> _tasks = new(StringComparer.Ordinal);

    public TaskRegistry Registry => _registry;

    /// <exception cref="ArgumentException">No task has that name.</exception>
    public IAgentTask Get(string name) => _tasks.GetOrAdd(name, n => _registry.Create(n));

    /// <summary>A task with options (see <c>agentrl tasks list</c>); instances are cached per name and options.</summary>
    /// <exception cref="ArgumentException">Unknown task, unknown option or a bad value.</exception>
    public IAgentTask Get(string name, IReadOnlyDictionary<string, string>? options)
    {
        if (options is null || options.Count == 0)
        {
            return Get(name);
        }

        var key = name + "?" + string.Join('&', options.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return _tasks.GetOrAdd(key, _ => _registry.Create(name, options));
    }

    /// <summary>One item as a JSON line (the JSONL import/export format), for grain messages.</summary>
    public static string ToJson(TaskItem item)
    {
        using var writer = new StringWriter();
        TaskItemJsonl.Write(writer, [item]);
        return writer.ToString().TrimEnd('\n', '\r');
    }

    /// <exception cref="FormatException">The text is not one valid item.</exception>
    public static TaskItem FromJson(string json)
    {
        var result = TaskItemJsonl.Read(new StringReader(json));
        if (result.Errors.Count > 0 || result.Items.Count != 1)
        {
            throw new FormatException("Not a task item: " + string.Join("; ", result.Errors.Select(e => e.ToString())));
        }

        return result.Items[0];
    }
}
