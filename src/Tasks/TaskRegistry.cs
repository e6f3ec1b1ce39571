using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Configuration;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.Jsonl;
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
/// Tasks by name. <see cref="CreateDefault"/> holds the bundled tasks (arithmetic, jsonl, kb-multihop, python-math);
/// <see cref="Create(TaskCatalogOptions)"/> adds the configured plug-ins (<see cref="AddPlugin"/>);
/// <see cref="Create(string, IReadOnlyDictionary{string, string}?)"/> builds one with options given as name → text (from
/// configuration or the command line; names are case-insensitive, '-' and '_' ignored), validated before the task is returned.
/// </summary>
public sealed partial class TaskRegistry
{
    /// <summary><see cref="SourceOf"/> of the tasks that come with AgentRl.</summary>
    public const string BundledSource = "bundled";

    private readonly Dictionary<string, Entry> _tasks = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A registry with the bundled tasks.</summary>
    public static TaskRegistry CreateDefault() =>
        new TaskRegistry()
            .Register<ArithmeticOptions>(o => new ArithmeticTask(o))
            .Register<JsonlOptions>(o => new JsonlTask(o))
            .Register<KbMultihopOptions>(o => new KbMultihopTask(o))
            .Register<PythonMathOptions>(o => new PythonMathTask(o));

    /// <summary>The bundled tasks and the plug-ins of <paramref name="options"/>; throws one <see cref="ArgumentException"/> listing every problem.</summary>
    public static TaskRegistry Create(TaskCatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var registry = CreateDefault();
        var problems = new List<string>();
        foreach (var (name, registration) in options.Plugins ?? [])
        {
            if (registry.TryAddPlugin(name, registration ?? new TaskPluginRegistration()) is { } problem)
            {
                problems.Add($"{TaskCatalogOptions.SectionName}:Plugins:{name}: {problem}");
            }
        }

        return problems.Count == 0 ? registry : throw new ArgumentException("Invalid task plug-ins: " + string.Join("; ", problems));
    }

    /// <summary>Registers a task whose options are the public settable properties of <typeparamref name="TOptions"/>.</summary>
    public TaskRegistry Register<TOptions>(Func<TOptions, IAgentTask> create)
        where TOptions : TaskOptions, new() => Register(create, BundledSource, expectedName: null);

    /// <summary>
    /// Registers a task type by reflection: a concrete <see cref="IAgentTask"/> with a public constructor taking one
    /// <see cref="TaskOptions"/> subclass (registered as <see cref="Register{TOptions}(Func{TOptions, IAgentTask})"/> would) or, failing that, a public
    /// parameterless constructor (a task without options). <paramref name="name"/>, when given, must be the task's own name.
    /// </summary>
    /// <exception cref="ArgumentException">The type is not such a task, does not construct with default options, or its name is taken.</exception>
    public TaskRegistry Register(Type type, string? name = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!type.IsClass || type.IsAbstract || type.ContainsGenericParameters || !typeof(IAgentTask).IsAssignableFrom(type))
        {
            throw new ArgumentException($"type '{type.FullName}' is not a concrete class implementing {nameof(IAgentTask)}");
        }

        var withOptions = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Where(c => c.GetParameters() is [var p] && p.ParameterType.IsSubclassOf(typeof(TaskOptions)) && !p.ParameterType.IsAbstract && p.ParameterType.GetConstructor(Type.EmptyTypes) is not null)
            .ToList();
        if (withOptions.Count > 1)
        {
            throw new ArgumentException($"type '{type.FullName}' has {withOptions.Count} public constructors taking task options; keep one");
        }

        source ??= type.FullName ?? type.Name;
        if (withOptions.Count == 1)
        {
            var constructor = withOptions[0];
            var optionsType = constructor.GetParameters()[0].ParameterType;
            var register = typeof(TaskRegistry).GetMethod(nameof(RegisterConstructor), BindingFlags.NonPublic | BindingFlags.Instance)!.MakeGenericMethod(optionsType);
            return Unwrapped(() => (TaskRegistry)register.Invoke(this, [constructor, name, source])!);
        }

        if (type.GetConstructor(Type.EmptyTypes) is not { } parameterless)
        {
            throw new ArgumentException(
                $"type '{type.FullName}' has no public constructor taking one {nameof(TaskOptions)} subclass (with a public parameterless constructor) nor a public parameterless one");
        }

        var sample = Construct(type, () => (IAgentTask)parameterless.Invoke(null));
        var info = new TaskInfo(sample.Name, sample.Description, sample.AllowedTools, new Dictionary<string, string>());
        return Add(info, name, source, options =>
        {
            if (options.Count > 0)
            {
                throw new ArgumentException($"taskOptions.{options.Keys.First()}: task '{info.Name}' takes no options.");
            }

            return Unwrapped(() => (IAgentTask)parameterless.Invoke(null));
        });
    }

    /// <summary>
    /// Adds the plug-in <paramref name="registration"/> under <paramref name="name"/> (letters, digits, '-' and '_'):
    /// loads its assembly when an <see cref="TaskPluginRegistration.AssemblyPath"/> is given, resolves the type and
    /// registers it (<see cref="Register(Type, string?, string?)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Why the plug-in cannot be registered, naming it.</exception>
    public TaskRegistry AddPlugin(string name, TaskPluginRegistration registration) =>
        TryAddPlugin(name, registration) is { } problem ? throw new ArgumentException($"task plug-in '{name}': {problem}") : this;

    /// <summary>Registered tasks, by name.</summary>
    public IReadOnlyList<TaskInfo> List() => [.. _tasks.Values.Select(t => t.Info).OrderBy(i => i.Name, StringComparer.Ordinal)];

    public bool Contains(string name) => _tasks.ContainsKey(name);

    /// <summary>The registered task <paramref name="name"/> as <see cref="List"/> shows it.</summary>
    /// <exception cref="ArgumentException">No task has that name.</exception>
    public TaskInfo Info(string name) => Find(name).Info;

    /// <summary>Where a task comes from: <see cref="BundledSource"/>, or a plug-in's type (and assembly path).</summary>
    /// <exception cref="ArgumentException">No task has that name.</exception>
    public string SourceOf(string name) => Find(name).Source;

    /// <summary>
    /// Why <paramref name="allowedTools"/> cannot be served by a catalog of <paramref name="toolNames"/> (naming the missing
    /// ones, the known ones and the likely intent), or null when every tool is there.
    /// </summary>
    public static string? UnknownTools(IEnumerable<string> allowedTools, IReadOnlyCollection<string> toolNames)
    {
        ArgumentNullException.ThrowIfNull(allowedTools);
        ArgumentNullException.ThrowIfNull(toolNames);
        var unknown = allowedTools.Where(t => !toolNames.Contains(t, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        return unknown.Count == 0
            ? null
            : $"allows tools that are not in the tool catalog: {string.Join(", ", unknown)} (known: {string.Join(", ", toolNames.Order(StringComparer.Ordinal))}).{NameSuggestions.DidYouMean(unknown[0], toolNames)}";
    }

    /// <summary>Creates the task <paramref name="name"/>; unknown names, unknown options and bad values throw <see cref="ArgumentException"/>.</summary>
    public IAgentTask Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Find(name).Create(options ?? new Dictionary<string, string>());
    }

    /// <summary>Why a plug-in cannot be added (and then nothing is), or null when it was.</summary>
    internal string? TryAddPlugin(string name, TaskPluginRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (string.IsNullOrEmpty(name) || !PluginNamePattern().IsMatch(name))
        {
            return $"the name '{name}' must contain only letters, digits, '-' and '_'";
        }

        if (string.IsNullOrWhiteSpace(registration.Type))
        {
            return "no Type given (the task's full type name, with an AssemblyPath, or its assembly-qualified name)";
        }

        Type? type;
        if (registration.AssemblyPath is { Length: > 0 } path)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                return $"assembly '{path}' not found ({full})";
            }

            try
            {
                var assembly = Assembly.LoadFrom(full);
                type = assembly.GetType(registration.Type.Split(',')[0].Trim(), throwOnError: false);
            }
            catch (Exception e) when (e is IOException or BadImageFormatException or TypeLoadException)
            {
                return $"cannot load assembly '{path}': {e.Message}";
            }

            if (type is null)
            {
                return $"type '{registration.Type}' not found in '{path}'";
            }
        }
        else
        {
            try
            {
                type = Type.GetType(registration.Type, throwOnError: false);
            }
            catch (Exception e) when (e is IOException or BadImageFormatException or TypeLoadException or ArgumentException)
            {
                return $"cannot load type '{registration.Type}': {e.Message}";
            }

            if (type is null)
            {
                return $"type '{registration.Type}' not found (give its assembly-qualified name, or an AssemblyPath)";
            }
        }

        try
        {
            Register(type, name, registration.ToString());
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    private TaskRegistry Register<TOptions>(Func<TOptions, IAgentTask> create, string source, string? expectedName)
        where TOptions : TaskOptions, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        var sample = Construct(typeof(TOptions), () => create(new TOptions()));
        var defaults = OptionProperties<TOptions>()
            .ToDictionary(p => OptionName(p), p => p.GetValue(new TOptions()) is bool b ? (b ? "true" : "false") : Convert.ToString(p.GetValue(new TOptions()), CultureInfo.InvariantCulture) ?? string.Empty);
        var info = new TaskInfo(sample.Name, sample.Description, sample.AllowedTools, defaults);
        return Add(info, expectedName, source, options => create(Bind<TOptions>(info.Name, options)));
    }

    /// <summary>A plug-in with a constructor taking <typeparamref name="TOptions"/> (called by reflection).</summary>
    private TaskRegistry RegisterConstructor<TOptions>(ConstructorInfo constructor, string? expectedName, string source)
        where TOptions : TaskOptions, new() =>
        Register<TOptions>(o => Unwrapped(() => (IAgentTask)constructor.Invoke([o])), source, expectedName);

    private TaskRegistry Add(TaskInfo info, string? expectedName, string source, Func<IReadOnlyDictionary<string, string>, IAgentTask> create)
    {
        if (string.IsNullOrWhiteSpace(info.Name))
        {
            throw new ArgumentException($"the task of {source} has an empty Name");
        }

        if (expectedName is not null && !string.Equals(expectedName, info.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"the task names itself '{info.Name}'; register it under that name, not '{expectedName}'");
        }

        if (_tasks.TryGetValue(info.Name, out var existing))
        {
            throw new ArgumentException($"a task named '{info.Name}' is already registered ({existing.Source})");
        }

        _tasks.Add(info.Name, new Entry(info, create, source));
        return this;
    }

    private Entry Find(string name) =>
        _tasks.TryGetValue(name, out var task)
            ? task
            : throw new ArgumentException($"unknown task '{name}'. Known: {string.Join(", ", _tasks.Keys.Order(StringComparer.Ordinal))}.{NameSuggestions.DidYouMean(name, _tasks.Keys)}", nameof(name));

    /// <summary>The sample instance a registration reads its info from; a constructor that throws is the plug-in's fault.</summary>
    private static IAgentTask Construct(Type type, Func<IAgentTask> create)
    {
        try
        {
            return Unwrapped(create);
        }
        catch (Exception e)
        {
            throw new ArgumentException($"constructing {type.FullName} with default options failed: {e.Message}", e);
        }
    }

    /// <summary>Runs a reflection call, rethrowing what the called code threw rather than its <see cref="TargetInvocationException"/>.</summary>
    private static T Unwrapped<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
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

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex PluginNamePattern();

    private sealed record Entry(TaskInfo Info, Func<IReadOnlyDictionary<string, string>, IAgentTask> Create, string Source);
}
