namespace AgentRl.Abstractions.Tools;

/// <summary>A short document of a task's knowledge base, searched by <c>kb-search</c>.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.kb-document.v1")]
public sealed record KbDocument(
    [property: Id(0)] string Id,
    [property: Id(1)] string Title,
    [property: Id(2)] string Text);
