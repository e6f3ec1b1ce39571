using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Tools;

/// <summary>A registered tool as <c>agentrl tools list</c> shows it: its spec, and whether it needs a task's knowledge base.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.catalog-tool.v1")]
public sealed record CatalogTool(
    [property: Id(0)] ToolSpec Spec,
    [property: Id(1)] bool NeedsKnowledgeBase);
