using System.Globalization;
using System.Reflection;
using AgentRl.Abstractions.Configuration;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.KbMultihop;
using AgentRl.Tasks.PythonMath;

namespace AgentRl.Tasks;

/// <summary>A registered task as <c>agentrl tasks list</c> shows it: name, description, tools and option names (camelCase, as <c>taskOptions.*</c> spells them) with defaults.</summary>
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
            .ToDictionary(p => OptionName(p), p => p.GetValue(new TOptions()) is bool b ? (b ? "true" : "false") : Convert.ToString(p.GetValue(new TOptions()), CultureInfo.InvariantCulture) ?? string.Empty);
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
            : throw new ArgumentException($"unknown task '{name}'. Known: {string.Join(", ", _tasks.Keys.Order(StringComparer.Ordinal))}.{NameSuggestions.DidYouMean(name, _tasks.Keys)}", nameof(name));
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
                var names = properties.Values.Select(OptionName).Order(StringComparer.Ordinal).ToList();
                throw new ArgumentException(
                    $"taskOptions.{name}: task '{task}' has no such option. Options: {string.Join(", ", names)}.{NameSuggestions.DidYouMean(name, names)}", nameof(values));
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
                var expected = type == typeof(bool) ? "true or false" : type == typeof(string) ? "text" : type == typeof(int) || type == typeof(long) ? "a whole number" : "a number";
                throw new ArgumentException($"taskOptions.{OptionName(property)} = '{text}' is not valid for task '{task}'; expected {expected}.", nameof(values), e);
            }
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"taskOptions of task '{task}': {e.Message}", nameof(values), e);
        }

        return options;
    }

    private static IEnumerable<PropertyInfo> OptionProperties<TOptions>() =>
        typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0)
            .Where(p => p.PropertyType == typeof(string) || p.PropertyType.IsPrimitive || p.PropertyType == typeof(decimal))
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    /// <summary>An option's name as configuration spells it: camelCase (<c>maxOperations</c>).</summary>
    private static string OptionName(PropertyInfo property) => OptionChecks.Camel(property.Name);

    private static string Key(string name) => name.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
}
