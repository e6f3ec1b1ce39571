namespace AgentRl.Abstractions.Chat;

/// <summary>Who speaks a turn of a conversation.</summary>
public enum ChatRole
{
    System,
    User,
    Assistant,
    Tool,
}
