using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Sandbox;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Catalog;

/// <summary>
/// What a tool session gets besides the catalog: its per-call timeout, the task's knowledge base and extra services for
/// user plugins.
/// </summary>
public sealed record ToolSessionContext
{
    /// <summary>Default <see cref="CallTimeout"/> in seconds: 10, as the default of a run's <c>limits.toolTimeoutSeconds</c>.</summary>
    public const double DefaultCallTimeoutSeconds = 10;

    /// <summary>Longest <see cref="CallTimeout"/> in seconds: one day (<see cref="ProcessSandbox.MaxTimeout"/>).</summary>
    public const double MaxCallTimeoutSeconds = 24 * 60 * 60;

    public static ToolSessionContext Empty { get; } = new();

    /// <summary>
    /// The one wall-clock limit of each call of the session, in (0, <see cref="MaxCallTimeoutSeconds"/>] s; default
    /// <see cref="DefaultCallTimeoutSeconds"/>. A process tool's sandbox kills its process tree when it passes and reports
    /// the timeout itself; the session stops any call that is still running (an in-process tool ignoring its token) at
    /// the same time, or <see cref="ToolSession.ProcessToolGrace"/> later for process tools, so that their sandbox
    /// reports first. In training it is the run's <c>limits.toolTimeoutSeconds</c>.
    /// </summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(DefaultCallTimeoutSeconds);

    /// <summary>Documents <c>kb-search</c> searches; null when the task has none (then <c>kb-*</c> cannot be allowed).</summary>
    public IReadOnlyList<KbDocument>? KnowledgeBase { get; init; }

    /// <summary>
    /// Key under which the knowledge base's index is cached and shared (e.g. the task's collection name); null builds
    /// an index for this session only.
    /// </summary>
    public string? KnowledgeBaseKey { get; init; }

    /// <summary>Services user plugins' constructors may ask for (looked up after the session's own).</summary>
    public IServiceProvider? Services { get; init; }
}

/// <summary>
/// Registered tool plugins by name (<see cref="ToolCatalogOptions"/>). Resolves and checks every plugin type on
/// construction; <see cref="OpenSession"/> instantiates the plugins a task allows and returns the
/// <see cref="IToolExecutor"/> for one episode or rollout branch. Thread-safe; one per silo.
/// </summary>
public sealed partial class ToolCatalog
{
    private readonly Dictionary<string, Type> _pluginTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _toolToPlugin = new(StringComparer.Ordinal);
    private readonly IServiceProvider? _services;
    private readonly ILoggerFactory _loggerFactory;

    public ToolCatalog(ToolCatalogOptions options, IServiceProvider? services = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _services = services;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Indexes = new Search.KnowledgeBaseIndexCache();
        if (options.Sandbox.AllowWeakerIsolation)
        {
            LogWeakerIsolationAllowed(_loggerFactory.CreateLogger<ToolCatalog>(), options.Sandbox.Isolation);
        }

        foreach (var (name, registration) in options.Plugins)
        {
            if (!PluginNamePattern().IsMatch(name))
            {
                throw new ArgumentException($"plugin name '{name}' must contain only letters, digits and '_'", nameof(options));
            }

            var type = ResolveType(name, registration);
            var functions = FunctionNames(type);
            if (functions.Count == 0)
            {
                throw new ArgumentException($"plugin '{name}' ({type.FullName}) has no [KernelFunction] methods", nameof(options));
            }

            _pluginTypes[name] = type;
            foreach (var function in functions)
            {
                _toolToPlugin[ToolName(name, function)] = name;
            }
        }
    }

    /// <summary>
    /// JSON options for arguments and results: web defaults (camelCase, case-insensitive, numbers from strings) and enums
    /// by name.
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    public ToolCatalogOptions Options { get; }

    /// <summary>Knowledge-base indexes shared by <see cref="ToolSessionContext.KnowledgeBaseKey"/>.</summary>
    public Search.KnowledgeBaseIndexCache Indexes { get; }

    /// <summary>Registered plugin names.</summary>
    public IReadOnlyCollection<string> PluginNames => _pluginTypes.Keys;

    /// <summary>Every tool name the catalog knows (<c>plugin-function</c>), sorted.</summary>
    public IReadOnlyList<string> ToolNames => [.. _toolToPlugin.Keys.Order(StringComparer.Ordinal)];

    internal ILoggerFactory LoggerFactory => _loggerFactory;

    internal IServiceProvider? Services => _services;

    /// <summary>The model-facing name of a function: <c>plugin-function</c>.</summary>
    public static string ToolName(string pluginName, string functionName) => pluginName + "-" + functionName;

    /// <summary>Whether the plugin of <paramref name="toolName"/> searches a knowledge base (so a session needs <see cref="ToolSessionContext.KnowledgeBase"/>).</summary>
    public bool NeedsKnowledgeBase(string toolName) =>
        PluginOf(toolName) is { } plugin
        && _pluginTypes[plugin].GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(Search.Bm25Index)));

    /// <summary>Whether <paramref name="toolName"/> names a function of a registered plugin.</summary>
    public bool Contains(string toolName) => _toolToPlugin.ContainsKey(toolName);

    /// <summary>
    /// Opens a session offering exactly <paramref name="allowedTools"/> (tool names, in the order given to the model).
    /// Only the plugins of allowed tools are instantiated.
    /// </summary>
    /// <exception cref="ArgumentException">An allowed name is not in the catalog, or a plugin's constructor needs a service the context lacks.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The context's <see cref="ToolSessionContext.CallTimeout"/> is out of range.</exception>
    public ToolSession OpenSession(IEnumerable<string> allowedTools, ToolSessionContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(allowedTools);
        context ??= ToolSessionContext.Empty;
        if (!(context.CallTimeout > TimeSpan.Zero && context.CallTimeout.TotalSeconds <= ToolSessionContext.MaxCallTimeoutSeconds))
        {
            throw new ArgumentOutOfRangeException(
                nameof(context),
                context.CallTimeout,
                string.Create(
                    System.Globalization.CultureInfo.InvariantCulture,
                    $"callTimeout = {context.CallTimeout.TotalSeconds:0.###} s is outside the allowed range (0, {ToolSessionContext.MaxCallTimeoutSeconds}] s"));
        }

        var allowed = allowedTools.Distinct(StringComparer.Ordinal).ToList();
        var unknown = allowed.Where(name => !_toolToPlugin.ContainsKey(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"tools not in the catalog: {string.Join(", ", unknown)}; known: {string.Join(", ", ToolNames)}", nameof(allowedTools));
        }

        return new ToolSession(this, allowed, context);
    }

    internal string? PluginOf(string toolName) => _toolToPlugin.GetValueOrDefault(toolName);

    internal Type PluginType(string pluginName) => _pluginTypes[pluginName];

    /// <summary>Whether a plugin runs processes: a constructor of its type takes a <see cref="ProcessSandbox"/>.</summary>
    internal bool IsProcessTool(string pluginName) =>
        _pluginTypes[pluginName].GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(ProcessSandbox)));

    /// <summary>Function names of a plugin type as Semantic Kernel names them: the attribute's name, else the method name without "Async".</summary>
    internal static IReadOnlyList<string> FunctionNames(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<KernelFunctionAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => !string.IsNullOrEmpty(m.Attribute!.Name)
                ? m.Attribute.Name
                : m.Method.Name.EndsWith("Async", StringComparison.Ordinal) && m.Method.Name.Length > 5
                    ? m.Method.Name[..^5]
                    : m.Method.Name)
            .ToList();

    private static Type ResolveType(string name, ToolPluginRegistration registration)
    {
        if (string.IsNullOrWhiteSpace(registration.Type))
        {
            throw new ArgumentException($"plugin '{name}' has no Type");
        }

        try
        {
            Type? type;
            if (registration.AssemblyPath is { Length: > 0 } path)
            {
                var assembly = Assembly.LoadFrom(Path.GetFullPath(path));
                var typeName = registration.Type.Split(',')[0].Trim();
                type = assembly.GetType(typeName, throwOnError: false);
            }
            else
            {
                type = Type.GetType(registration.Type, throwOnError: false);
            }

            if (type is null || !type.IsClass || type.IsAbstract)
            {
                throw new ArgumentException(
                    $"plugin '{name}': type '{registration.Type}' was not found or is not a concrete class" +
                    (registration.AssemblyPath is null ? " (give an assembly-qualified name or an AssemblyPath)" : $" in '{registration.AssemblyPath}'"));
            }

            return type;
        }
        catch (Exception ex) when (ex is IOException or BadImageFormatException or TypeLoadException)
        {
            throw new ArgumentException($"plugin '{name}': cannot load '{registration.Type}': {ex.Message}", ex);
        }
    }

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly();
        return options;
    }

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex PluginNamePattern();

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "AgentRl:Tools:Sandbox:AllowWeakerIsolation is true (isolation {Isolation}): sandboxed tools may run without bubblewrap, seeing the host's file system (and, as a plain process, its network)")]
    private static partial void LogWeakerIsolationAllowed(ILogger logger, SandboxIsolation isolation);
}
