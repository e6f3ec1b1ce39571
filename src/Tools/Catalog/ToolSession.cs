using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Sandbox;
using AgentRl.Tools.Search;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Catalog;

/// <summary>
/// The tools of one episode or rollout branch: the allowed functions of freshly created plugin instances, their
/// <see cref="ToolSpec"/>s (from Semantic Kernel metadata) and a never-throwing <see cref="ExecuteAsync"/>.
/// Each call is limited by the session's <see cref="CallTimeout"/>. Disposing it kills any sandboxed process still
/// running and disposes the plugins.
/// </summary>
public sealed class ToolSession : IToolExecutor, IDisposable
{
    /// <summary>
    /// How much later than <see cref="CallTimeout"/> the session stops a call of a process tool (a plugin taking a
    /// <see cref="ProcessSandbox"/>): its sandbox kills the process at <see cref="CallTimeout"/> and reports that
    /// timeout, with the partial output, before the session's own, less precise, message would. 1 s.
    /// </summary>
    public static readonly TimeSpan ProcessToolGrace = TimeSpan.FromSeconds(1);

    private readonly ToolCatalog _catalog;
    private readonly Dictionary<string, KernelFunction> _functions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processTools = new(StringComparer.Ordinal);
    private readonly List<object> _owned = [];
    private readonly Kernel _kernel = new();
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    internal ToolSession(ToolCatalog catalog, IReadOnlyList<string> allowedTools, ToolSessionContext context)
    {
        _catalog = catalog;
        CallTimeout = context.CallTimeout;
        var services = new SessionServices(catalog, context, _owned);
        var plugins = new Dictionary<string, KernelPlugin>(StringComparer.Ordinal);
        var specs = new List<ToolSpec>();
        try
        {
            foreach (var toolName in allowedTools)
            {
                var pluginName = catalog.PluginOf(toolName)!;
                if (!plugins.TryGetValue(pluginName, out var plugin))
                {
                    plugin = CreatePlugin(pluginName, catalog.PluginType(pluginName), services);
                    plugins[pluginName] = plugin;
                }

                var function = plugin.FirstOrDefault(f => ToolCatalog.ToolName(pluginName, f.Name) == toolName)
                    ?? throw new ArgumentException($"plugin '{pluginName}' has no function for tool '{toolName}'");
                _functions[toolName] = function;
                if (catalog.IsProcessTool(pluginName))
                {
                    _processTools.Add(toolName);
                }

                specs.Add(ToolSchema.ToSpec(toolName, function.Metadata));
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        Tools = specs;
    }

    /// <inheritdoc />
    public IReadOnlyList<ToolSpec> Tools { get; }

    /// <summary>The wall-clock limit of each call (<see cref="ToolSessionContext.CallTimeout"/>); process tools' sandboxes use it too.</summary>
    public TimeSpan CallTimeout { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Failures come back as error observations with a <see cref="ToolErrorKinds"/> kind. Only a cancelled
    /// <paramref name="cancellationToken"/> (the caller giving up, not the tool's timeout) throws
    /// <see cref="OperationCanceledException"/>.
    /// </remarks>
    public async Task<ToolObservation> ExecuteAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var stopwatch = Stopwatch.StartNew();
        var name = call.Name?.Trim() ?? string.Empty;
        try
        {
            if (!_functions.TryGetValue(name, out var function))
            {
                var kind = _catalog.Contains(name) ? ToolErrorKinds.NotAllowed : ToolErrorKinds.UnknownTool;
                return Error(name, kind, UnknownToolMessage(name), stopwatch);
            }

            if (!ArgumentBinder.TryBind(function.Metadata, call.ArgumentsJson, out var arguments, out var bindError))
            {
                return Error(name, bindError!.Value.Kind, $"Invalid call to {name}: {bindError.Value.Message}", stopwatch);
            }

            return await InvokeAsync(name, function, arguments!, stopwatch, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return Error(name, ToolErrorKinds.ToolException, $"Error in {name}: {Unwrap(ex).Message}", stopwatch);
        }
    }

    /// <summary>Kills running sandboxed processes and disposes the plugin instances this session created.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _disposing.Cancel();
        foreach (var owned in _owned)
        {
            (owned as IDisposable)?.Dispose();
        }

        _disposing.Dispose();
    }

    private async Task<ToolObservation> InvokeAsync(
        string name, KernelFunction function, KernelArguments arguments, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        // A process tool's sandbox enforces CallTimeout itself and says so; the session stops it only if that fails.
        var timeout = CallTimeout;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        linked.CancelAfter(_processTools.Contains(name) ? timeout + ProcessToolGrace : timeout);

        // Task.Run: a synchronous tool that ignores its token still cannot hold the caller past the timeout.
        var invocation = Task.Run(() => function.InvokeAsync(_kernel, arguments, linked.Token), CancellationToken.None);
        FunctionResult result;
        try
        {
            result = await invocation.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _ = invocation.ContinueWith(t => _ = t.Exception, TaskScheduler.Default); // observe a late failure
            var why = _disposing.IsCancellationRequested ? "the tool session was closed" : $"it ran past the {timeout.TotalSeconds:0.###} s limit";
            return Error(name, ToolErrorKinds.Timeout, $"{name} was stopped: {why}.", stopwatch);
        }
        catch (Exception ex) when (Unwrap(ex) is ToolErrorException toolError)
        {
            return Error(name, toolError.ErrorKind, toolError.Message, stopwatch);
        }

        var text = ResultText(result);
        var capped = OutputLimiter.Truncate(text, _catalog.Options.MaxOutputChars, out var truncated);
        truncated |= text.Contains("…[truncated ", StringComparison.Ordinal);
        return new ToolObservation(name, capped, false, truncated ? ToolErrorKinds.OutputTruncated : null, stopwatch.Elapsed.TotalMilliseconds);
    }

    private ToolObservation Error(string name, string kind, string message, Stopwatch stopwatch) =>
        new(name, OutputLimiter.Truncate(message, _catalog.Options.MaxOutputChars, out _), true, kind, stopwatch.Elapsed.TotalMilliseconds);

    private string UnknownToolMessage(string name)
    {
        var available = _functions.Count == 0 ? "none" : string.Join(", ", _functions.Keys);
        if (name.Length == 0)
        {
            return $"The tool call has no tool name. Available tools: {available}.";
        }

        return _catalog.Contains(name)
            ? $"Tool '{name}' is not available in this task. Available tools: {available}."
            : $"Unknown tool '{name}'. Available tools: {available}.";
    }

    private static string ResultText(FunctionResult result) =>
        result.GetValue<object>() switch
        {
            null => string.Empty,
            string s => s,
            var value => JsonSerializer.Serialize(value, value.GetType(), ToolCatalog.JsonOptions),
        };

    private static Exception Unwrap(Exception ex)
    {
        while (ex is TargetInvocationException or AggregateException or KernelFunctionCanceledException && ex.InnerException is not null)
        {
            ex = ex.InnerException!;
        }

        return ex;
    }

    private KernelPlugin CreatePlugin(string pluginName, Type type, SessionServices services)
    {
        object instance;
        try
        {
            instance = ActivatorUtilities.CreateInstance(services, type);
        }
        catch (InvalidOperationException ex)
        {
            throw new ArgumentException(
                $"cannot create plugin '{pluginName}' ({type.Name}): {ex.Message}" +
                (type == typeof(Plugins.KnowledgeBasePlugin) ? " (the task must provide ToolSessionContext.KnowledgeBase)" : string.Empty),
                ex);
        }

        _owned.Add(instance);
        return KernelPluginFactory.CreateFromObject(instance, ToolCatalog.JsonOptions, pluginName, _catalog.LoggerFactory);
    }

    /// <summary>
    /// Constructor services for plugins: the session's sandbox (with the session's call timeout) and knowledge-base
    /// index, the catalog's sandbox options, then the context's and the host's services.
    /// </summary>
    private sealed class SessionServices(ToolCatalog catalog, ToolSessionContext context, List<object> owned) : IServiceProvider
    {
        private ProcessSandbox? _sandbox;
        private Bm25Index? _index;

        public object? GetService(Type serviceType)
        {
            if (serviceType == typeof(ProcessSandbox))
            {
                if (_sandbox is null)
                {
                    // The sandbox's wall-clock limit is the session's per-call timeout.
                    _sandbox = new ProcessSandbox(catalog.Options.Sandbox, context.CallTimeout, catalog.LoggerFactory.CreateLogger<ProcessSandbox>());
                    owned.Add(_sandbox);
                }

                return _sandbox;
            }

            if (serviceType == typeof(Bm25Index) && context.KnowledgeBase is { } documents)
            {
                return _index ??= context.KnowledgeBaseKey is { Length: > 0 } key
                    ? catalog.Indexes.GetOrBuild(key, () => documents)
                    : new Bm25Index(documents);
            }

            if (serviceType == typeof(ProcessSandboxOptions))
            {
                return catalog.Options.Sandbox;
            }

            if (serviceType == typeof(ILoggerFactory))
            {
                return catalog.LoggerFactory;
            }

            return context.Services?.GetService(serviceType) ?? catalog.Services?.GetService(serviceType);
        }
    }
}
