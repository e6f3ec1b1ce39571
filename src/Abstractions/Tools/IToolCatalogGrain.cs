namespace AgentRl.Abstractions.Tools;

/// <summary>The silo's tool catalog (key: 0): every registered tool with the schema the model sees.</summary>
public interface IToolCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every tool of the catalog, sorted by name.</summary>
    Task<IReadOnlyList<CatalogTool>> GetToolsAsync(CancellationToken cancellationToken = default);
}
