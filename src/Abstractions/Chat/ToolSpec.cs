namespace AgentRl.Abstractions.Chat;

/// <summary>
/// A tool as the model sees it: the name (<c>plugin-function</c>), a description and the JSON schema of its
/// parameters (an object schema, taken from Semantic Kernel function metadata, never written by hand).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-spec.v1")]
public sealed record ToolSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string Description,
    [property: Id(2)] string ParametersSchemaJson);
