using AgentRl.Abstractions.Configuration;
using AgentRl.Tools.Plugins;
using AgentRl.Tools.Sandbox;
using Microsoft.Extensions.Configuration;

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
/// The tool catalog: plugins by name (tool names are <c>plugin-function</c>), output and sandbox limits. Bound from
/// configuration section <c>AgentRl:Tools</c>, e.g.
/// <code>
/// "AgentRl": { "Tools": {
///   "MaxOutputChars": 16384,
///   "Plugins": { "weather": { "Type": "My.Tools.WeatherPlugin", "AssemblyPath": "plugins/My.Tools.dll" } } } }
/// </code>
/// Built-ins are registered by default: <c>calculator</c>, <c>python</c>, <c>kb</c>. What a task may call is its own
/// allow-list (<see cref="ToolCatalog.OpenSession"/>), empty unless the task lists tools. The per-call timeout is not a
/// catalog setting: it belongs to each session (<see cref="ToolSessionContext.CallTimeout"/>; in training the run's
/// <c>limits.toolTimeoutSeconds</c>). The retired keys <see cref="RetiredKeys"/> are refused
/// (<see cref="RetiredKeyProblems"/>).
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

    /// <summary>Characters of a tool's result (or error) shown to the model; the rest is cut with a marker. Default 16384.</summary>
    public int MaxOutputChars { get; set; } = 16 * 1024;

    /// <summary>Limits of process tools (<c>python-run</c>).</summary>
    public ProcessSandboxOptions Sandbox { get; set; } = new();

    /// <summary>
    /// Configuration keys that set a per-call timeout in earlier versions. They are no longer read: the one per-call tool
    /// timeout is the run's <c>limits.toolTimeoutSeconds</c> (<c>agentrl tools call --timeout</c>), which also limits
    /// python-run's process.
    /// </summary>
    public static IReadOnlyList<string> RetiredKeys { get; } = [SectionName + ":CallTimeout", ProcessSandboxOptions.SectionName + ":Timeout"];

    /// <summary>One problem for each <see cref="RetiredKeys"/> entry that <paramref name="configuration"/> still sets (call on silo start).</summary>
    public static IReadOnlyList<string> RetiredKeyProblems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return
        [
            .. RetiredKeys
                .Where(key => configuration.GetSection(key).Exists())
                .Select(key =>
                    $"{key} is no longer supported: the per-call tool timeout (python-run's process included) is the run's " +
                    "limits.toolTimeoutSeconds (agentrl tools call --timeout); remove the setting."),
        ];
    }

    /// <summary>Every problem with the fields, the sandbox's included: each names the field (camelCase), its value and the allowed range.</summary>
    public IEnumerable<string> Problems()
    {
        var check = new OptionChecks();
        check.AtLeast(nameof(MaxOutputChars), MaxOutputChars, 64);
        if (Sandbox is null)
        {
            check.Add($"{OptionChecks.Camel(nameof(Sandbox))} is required");
        }
        else
        {
            foreach (var problem in Sandbox.Problems())
            {
                check.Add($"{OptionChecks.Camel(nameof(Sandbox))}.{problem}");
            }
        }

        return check.Problems;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every <see cref="Problems"/> (call on start); returns this.</summary>
    public ToolCatalogOptions Validate() => OptionChecks.ThrowIfAny(this, Problems(), "tools");
}
