namespace AgentRl.Tasks;

/// <summary>A task plug-in registered under a name: the type, and the assembly file to load it from when it is not already loaded.</summary>
public sealed class TaskPluginRegistration
{
    /// <summary>Type name: full name (<c>My.Tasks.UnitConversionTask</c>, with <see cref="AssemblyPath"/>) or assembly-qualified name.</summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Path of the assembly holding <see cref="Type"/> (absolute, or relative to the current directory); null when already loadable.</summary>
    public string? AssemblyPath { get; set; }

    public static TaskPluginRegistration For<T>()
        where T : IAgentTask => new() { Type = typeof(T).AssemblyQualifiedName! };

    public override string ToString() => AssemblyPath is { Length: > 0 } path ? $"{Type} from {path}" : Type;
}

/// <summary>
/// The silo's tasks besides the bundled ones. Bound from configuration section <c>AgentRl:Tasks</c>, e.g.
/// <code>
/// "AgentRl": { "Tasks": {
///   "Plugins": { "unit-conversion": { "Type": "My.Tasks.UnitConversionTask", "AssemblyPath": "plugins/My.Tasks.dll" } } } }
/// </code>
/// A plug-in type is a concrete <see cref="IAgentTask"/> with a public constructor taking one <see cref="TaskOptions"/>
/// subclass (its options are then that record's properties, bound like a bundled task's) or a public parameterless one
/// (then it takes no options). It must construct with default options (that instance gives <c>tasks list</c> its
/// description and tools), its <see cref="IAgentTask.Name"/> must be the name it is registered under, and no other task
/// may have that name. One instance serves every episode of a silo: tasks must be thread-safe.
/// </summary>
public sealed class TaskCatalogOptions
{
    public const string SectionName = "AgentRl:Tasks";

    /// <summary>Task plug-ins by task name. Default: none (the bundled tasks are always there).</summary>
    public Dictionary<string, TaskPluginRegistration> Plugins { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Every problem with the plug-ins, each on its own and naming its key (<c>AgentRl:Tasks:Plugins:{name}: …</c>): an
    /// assembly or type that cannot be loaded, a type that is not a task, a name taken by another task, a task that does not
    /// construct with default options, and — when <paramref name="toolNames"/> is given — tools it allows that the tool
    /// catalog lacks.
    /// </summary>
    public IReadOnlyList<string> Problems(IReadOnlyCollection<string>? toolNames = null)
    {
        var problems = new List<string>();
        var registry = TaskRegistry.CreateDefault();
        foreach (var (name, registration) in Plugins ?? [])
        {
            var problem = registry.TryAddPlugin(name, registration ?? new TaskPluginRegistration());
            if (problem is null && toolNames is not null)
            {
                problem = TaskRegistry.UnknownTools(registry.Info(name).AllowedTools, toolNames);
            }

            if (problem is not null)
            {
                problems.Add($"{SectionName}:Plugins:{name}: {problem}");
            }
        }

        return problems;
    }
}
