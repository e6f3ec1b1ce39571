using System.Globalization;
using System.Reflection;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.KbMultihop;
using AgentRl.Tasks.PythonMath;

namespace AgentRl.Tasks;

/// <summary>A registered task as <c>agentrl tasks list</c> shows it: name, description, tools and option names with defaults.</summary>
public sealed record TaskInfo(
    string Name,
    string Description,
    IReadOnlyList<string> AllowedTools,
    IReadOnlyDictionary<string, string> OptionDefaults);

/// <summary>
/// Tasks by name. <see cref="CreateDefault"/> holds the bundled tasks (arithmetic, kb-multihop, python-math);
/// <see cref="Create"/> builds one with options given as name → text (from configuration or the command line;
/// names are case-insensitive, '-' and '_' ignored), validated before the task is returned.
/// </summary>
public sealed class TaskRegistry
{
    private readonly Dictionary<string, (TaskInfo Info, Func<IReadOnlyDictionary<string, string>, IAgentTask> Create)> _tasks =
        new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A registry with the bundled tasks.</summary>
    public static TaskRegistry CreateDefault() =>
        new TaskRegistry()
            .Register<ArithmeticOptions>(o => new ArithmeticTask(o))
            .Register<KbMultihopOptions>(o => new KbMultihopTask(o))
            .Register<PythonMathOptions>(o => new PythonMathTask(o));

    /// <summary>Registers a task whose options are the public settable properties of <typeparamref name="TOptions"/>.</summary>
    public TaskRegistry Register<TOptions>(Func<TOptions, IAgentTask> create)
        where TOptions : TaskOptions, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        var sample = create(new TOptions());
        var defaults = OptionProperties<TOptions>()
            .ToDictionary(p => p.Name, p => Convert.ToString(p.GetValue(new TOptions()), CultureInfo.InvariantCulture) ?? string.Empty);
        var info = new TaskInfo(sample.Name, sample.Description, sample.AllowedTools, defaults);
        if (!_tasks.TryAdd(sample.Name, (info, options => create(Bind<TOptions>(sample.Name, options)))))
        {
            throw new ArgumentException($"A task named '{sample.Name}' is already registered.", nameof(create));
        }

        return this;
    }

    /// <summary>Registered tasks, by name.</summary>
    public IReadOnlyList<TaskInfo> List() => [.. _tasks.Values.Select(t => t.Info).OrderBy(i => i.Name, StringComparer.Ordinal)];

    public bool Contains(string name) => _tasks.ContainsKey(name);

    /// <summary>Creates the task <paramref name="name"/>; unknown names, unknown options and bad values throw <see cref="ArgumentException"/>.</summary>
    public IAgentTask Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _tasks.TryGetValue(name, out var task)
            ? task.Create(options ?? new Dictionary<string, string>())
            : throw new ArgumentException($"Unknown task '{name}'; known tasks: {string.Join(", ", _tasks.Keys.Order(StringComparer.Ordinal))}.", nameof(name));
    }

    private static TOptions Bind<TOptions>(string task, IReadOnlyDictionary<string, string> values)
        where TOptions : TaskOptions, new()
    {
        var options = new TOptions();
        var properties = OptionProperties<TOptions>().ToDictionary(p => Key(p.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, text) in values)
        {
            if (!properties.TryGetValue(Key(name), out var property))
            {
                throw new ArgumentException(
                    $"Task '{task}' has no option '{name}'; options: {string.Join(", ", properties.Values.Select(p => p.Name))}.", nameof(values));
            }

            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            try
            {
                object value = type == typeof(string) ? text
                    : type == typeof(bool) ? bool.Parse(text)
                    : Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
                property.SetValue(options, value);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
            {
                throw new ArgumentException($"Option '{name}' of task '{task}' expects {type.Name}, got '{text}'.", nameof(values), e);
            }
        }

        options.Validate();
        return options;
    }

    private static IEnumerable<PropertyInfo> OptionProperties<TOptions>() =>
        typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0)
            .Where(p => p.PropertyType == typeof(string) || p.PropertyType.IsPrimitive || p.PropertyType == typeof(decimal))
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    private static string Key(string name) => name.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
}
