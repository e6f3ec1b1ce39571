using AgentRl.Tools.Plugins;
using AgentRl.Tools.Sandbox;

namespace AgentRl.Tools.Catalog;

/// <summary>A plugin type registered under a name: the type, and the assembly file to load it from when it is not already loaded.</summary>
public sealed class ToolPluginRegistration
{
    /// <summary>Type name: full name (<c>My.Tools.WeatherPlugin</c>, with <see cref="AssemblyPath"/>) or assembly-qualified name.</summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Path of the assembly holding <see cref="Type"/> (absolute, or relative to the current directory); null when already loadable.</summary>
    public string? AssemblyPath { get; set; }

    public static ToolPluginRegistration For<T>() => new() { Type = typeof(T).AssemblyQualifiedName! };
}

/// <summary>
/// The tool catalog: plugins by name (tool names are <c>plugin-function</c>), limits for each call. Bound from
/// configuration section <c>AgentRl:Tools</c>, e.g.
/// <code>
/// "AgentRl": { "Tools": {
///   "CallTimeout": "00:00:30",
///   "Plugins": { "weather": { "Type": "My.Tools.WeatherPlugin", "AssemblyPath": "plugins/My.Tools.dll" } } } }
/// </code>
/// Built-ins are registered by default: <c>calculator</c>, <c>python</c>, <c>kb</c>. What a task may call is its own
/// allow-list (<see cref="ToolCatalog.OpenSession"/>), empty unless the task lists tools.
/// </summary>
public sealed class ToolCatalogOptions
{
    public const string SectionName = "AgentRl:Tools";

    /// <summary>Plugins by name (letters, digits and '_'). Defaults: the three built-ins.</summary>
    public Dictionary<string, ToolPluginRegistration> Plugins { get; set; } = new(StringComparer.Ordinal)
    {
        ["calculator"] = ToolPluginRegistration.For<CalculatorPlugin>(),
        ["python"] = ToolPluginRegistration.For<PythonPlugin>(),
        ["kb"] = ToolPluginRegistration.For<KnowledgeBasePlugin>(),
    };

    /// <summary>
    /// Wall-clock limit of one call, whatever the tool does (the call's token is cancelled and an error observation
    /// returned). Keep it above <see cref="ProcessSandboxOptions.Timeout"/> so that the sandbox reports first. Default 30 s.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Characters of a tool's result (or error) shown to the model; the rest is cut with a marker. Default 16384.</summary>
    public int MaxOutputChars { get; set; } = 16 * 1024;

    /// <summary>Limits of process tools (<c>python-run</c>).</summary>
    public ProcessSandboxOptions Sandbox { get; set; } = new();

    /// <summary>Throws when a value is out of range (call on start).</summary>
    public void Validate()
    {
        if (CallTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CallTimeout), CallTimeout, "must be positive");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputChars, 64, nameof(MaxOutputChars));
        Sandbox.Validate();
    }
}
