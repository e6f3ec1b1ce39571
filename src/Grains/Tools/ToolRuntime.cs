using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Tools;

/// <summary>Per-silo tool settings. Section <c>AgentRl:ToolRuntime</c>.</summary>
public sealed class ToolRuntimeOptions
{
    /// <summary>Tool calls running at once on this silo, over all sandboxes. 0 (default) = twice the core count.</summary>
    public int MaxConcurrentCalls { get; set; }
}

/// <summary>This silo's tool catalog, call parser and the concurrency cap shared by every sandbox grain on it.</summary>
public sealed class ToolRuntime : IDisposable
{
    public ToolRuntime(ToolCatalogOptions catalogOptions, ToolCallFormatOptions formatOptions, ToolRuntimeOptions runtimeOptions, ILoggerFactory loggerFactory)
    {
        Catalog = new ToolCatalog(catalogOptions, null, loggerFactory);
        Parser = new ToolCallParser(formatOptions);
        var cap = runtimeOptions.MaxConcurrentCalls > 0 ? runtimeOptions.MaxConcurrentCalls : 2 * Environment.ProcessorCount;
        Concurrency = new SemaphoreSlim(cap, cap);
        MaxConcurrentCalls = cap;
    }

    public ToolCatalog Catalog { get; }

    public ToolCallParser Parser { get; }

    /// <summary>Held while a call runs, so that a silo never runs more than <see cref="MaxConcurrentCalls"/> tool calls.</summary>
    public SemaphoreSlim Concurrency { get; }

    public int MaxConcurrentCalls { get; }

    public void Dispose() => Concurrency.Dispose();
}
