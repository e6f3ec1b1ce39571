namespace AgentRl.Abstractions.Chat;

/// <summary>Who speaks a turn of a conversation.</summary>
public enum ChatRole
{
    System,
    User,
    Assistant,
    Tool,
}

/// <summary>A tool call the model made: the tool's name (<c>plugin-function</c>) and its arguments as JSON text.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-call.v1")]
public sealed record ToolCall(
    [property: Id(0)] string Name,
    [property: Id(1)] string ArgumentsJson);

/// <summary>
/// One turn of a conversation. Assistant turns may carry tool calls (rendered by the chat template);
/// tool turns carry the observation text for the call named by <see cref="ToolName"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.chat-message.v1")]
public sealed record ChatMessage(
    [property: Id(0)] ChatRole Role,
    [property: Id(1)] string Content,
    [property: Id(2)] IReadOnlyList<ToolCall>? ToolCalls = null,
    [property: Id(3)] string? ToolName = null)
{
    public static ChatMessage System(string content) => new(ChatRole.System, content);

    public static ChatMessage User(string content) => new(ChatRole.User, content);

    public static ChatMessage Assistant(string content, params ToolCall[] calls) =>
        new(ChatRole.Assistant, content, calls.Length == 0 ? null : calls);

    public static ChatMessage Tool(string toolName, string content) => new(ChatRole.Tool, content, null, toolName);
}

/// <summary>
/// A tool as the model sees it: the name (<c>plugin-function</c>), a description and the JSON schema of its
/// parameters (an object schema, taken from Semantic Kernel function metadata, never written by hand).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-spec.v1")]
public sealed record ToolSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string Description,
    [property: Id(2)] string ParametersSchemaJson);
