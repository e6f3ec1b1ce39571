namespace AgentRl.Abstractions.Chat;

/// <summary>A tool call the model made: the tool's name (<c>plugin-function</c>) and its arguments as JSON text.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-call.v1")]
public sealed record ToolCall(
    [property: Id(0)] string Name,
    [property: Id(1)] string ArgumentsJson);
