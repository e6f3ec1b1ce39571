namespace AgentRl.Abstractions.Chat;

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
