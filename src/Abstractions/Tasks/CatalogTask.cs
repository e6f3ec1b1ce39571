namespace AgentRl.Abstractions.Tasks;

/// <summary>
/// A registered task as <c>agentrl tasks list</c> shows it: name, one-line description, the tools it allows with default
/// options, its options (camelCase) with their defaults, and where it comes from (<c>bundled</c>, or a plug-in's type and
/// assembly).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.catalog-task.v1")]
public sealed record CatalogTask(
    [property: Id(0)] string Name,
    [property: Id(1)] string Description,
    [property: Id(2)] IReadOnlyList<string> AllowedTools,
    [property: Id(3)] IReadOnlyDictionary<string, string> OptionDefaults,
    [property: Id(4)] string Source);
