using System.Collections.Concurrent;
using AgentRl.Abstractions.Tasks;
using AgentRl.Tasks;
using AgentRl.Tasks.Data;
using AgentRl.Tools.Catalog;

namespace AgentRl.Grains.Tasks;

/// <summary>
/// The tasks of this silo: the bundled ones and the plug-ins of <see cref="TaskCatalogOptions"/> (<c>AgentRl:Tasks</c>), one
/// instance per name and options (tasks are pure and thread-safe), checked against the silo's tool catalog: a task that
/// allows a tool the catalog lacks is refused by name. Also task items on the wire. A silo singleton.
/// </summary>
public sealed class TaskCatalog
{
    private readonly TaskRegistry _registry;
    private readonly ToolCatalog _tools;
    private readonly ConcurrentDictionary<string, IAgentTask> _tasks = new(StringComparer.Ordinal);

    /// <exception cref="ArgumentException">Every problem with the plug-ins: an assembly or type that cannot be loaded, a type that is not a task, a name taken, tools the catalog lacks.</exception>
    public TaskCatalog(TaskCatalogOptions options, ToolCatalog tools)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tools);
        var problems = options.Problems(tools.ToolNames);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid task plug-ins: " + string.Join("; ", problems));
        }

        _registry = TaskRegistry.Create(options);
        _tools = tools;
    }

    public TaskRegistry Registry => _registry;

    /// <exception cref="ArgumentException">No task has that name, or it needs options (jsonl's path), or it allows tools the catalog lacks.</exception>
    public IAgentTask Get(string name) => Get(name, null);

    /// <summary>A task with options (see <c>agentrl tasks list</c>); instances are cached per name and options.</summary>
    /// <exception cref="ArgumentException">Unknown task, unknown option or a bad value (bad data for jsonl), or tools the catalog lacks.</exception>
    public IAgentTask Get(string name, IReadOnlyDictionary<string, string>? options)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = options is null || options.Count == 0
            ? name
            : name + "?" + string.Join('&', options.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return _tasks.GetOrAdd(key, _ => Checked(name, _registry.Create(name, options)));
    }

    /// <summary>
    /// The task a run uses: as <see cref="Get(string, IReadOnlyDictionary{string, string}?)"/>, and with
    /// <paramref name="warmStart"/> refused when it cannot build demonstrations (<see cref="IAgentTask.WarmStartProblem"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Why a run cannot use the task.</exception>
    public IAgentTask GetForRun(string name, IReadOnlyDictionary<string, string>? options, bool warmStart)
    {
        var task = Get(name, options);
        return warmStart && task.WarmStartProblem is { } problem
            ? throw new ArgumentException($"task '{task.Name}': {problem}.")
            : task;
    }

    /// <summary>Why <see cref="GetForRun"/> refuses the task (without .NET's "(Parameter …)" suffix), or null.</summary>
    public string? Problem(string name, IReadOnlyDictionary<string, string>? options, bool warmStart)
    {
        try
        {
            GetForRun(name, options, warmStart);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.ParamName is { } parameter ? e.Message.Replace($" (Parameter '{parameter}')", string.Empty, StringComparison.Ordinal) : e.Message;
        }
    }

    /// <summary>Every task, sorted by name, as <see cref="ITaskCatalogGrain.GetTasksAsync"/> returns them.</summary>
    public IReadOnlyList<CatalogTask> List() =>
        [.. _registry.List().Select(i => new CatalogTask(i.Name, i.Description, i.AllowedTools, i.OptionDefaults, _registry.SourceOf(i.Name)))];

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

    private IAgentTask Checked(string name, IAgentTask task) =>
        TaskRegistry.UnknownTools(task.AllowedTools, _tools.ToolNames) is { } problem
            ? throw new ArgumentException($"task '{name}' {problem}")
            : task;
}
