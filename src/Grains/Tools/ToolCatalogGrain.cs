using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Catalog;
using Orleans.Concurrency;

namespace AgentRl.Grains.Tools;

/// <summary>Lists the silo's tool catalog. A stateless worker: it holds nothing, and any silo's catalog answers.</summary>
[StatelessWorker]
public sealed class ToolCatalogGrain(ToolRuntime runtime) : Grain, IToolCatalogGrain
{
    public Task<IReadOnlyList<CatalogTool>> GetToolsAsync(CancellationToken cancellationToken = default)
    {
        var catalog = runtime.Catalog;

        // An empty knowledge base lets kb-* tools be instantiated for their schemas; nothing is called.
        using var session = catalog.OpenSession(catalog.ToolNames, new ToolSessionContext { KnowledgeBase = [] });
        IReadOnlyList<CatalogTool> tools = [.. session.Tools.Select(spec => new CatalogTool(spec, catalog.NeedsKnowledgeBase(spec.Name)))];
        return Task.FromResult(tools);
    }
}
