using System.Text.Json;
using AgentRl.Abstractions.Chat;

namespace AgentRl.Tasks.Rewards;

/// <summary>Pure checks of the tool calls a conversation made.</summary>
public static class ToolCallChecks
{
    /// <summary>
    /// Counts calls to <paramref name="toolName"/> whose arguments are a JSON object with a non-empty string
    /// <paramref name="requiredArgument"/>.
    /// </summary>
    public static int CountValid(IReadOnlyList<ToolCall> calls, string toolName, string requiredArgument)
    {
        ArgumentNullException.ThrowIfNull(calls);
        return calls.Count(c => c.Name == toolName && TryGetString(c.ArgumentsJson, requiredArgument) is { Length: > 0 });
    }

    /// <summary>True when any call names a tool outside <paramref name="allowed"/>.</summary>
    public static bool UsesDisallowedTool(IReadOnlyList<ToolCall> calls, IReadOnlyList<string> allowed) =>
        calls.Any(c => !allowed.Contains(c.Name, StringComparer.Ordinal));

    /// <summary>
    /// The tool-use part: min(1, valid calls / expected calls), or 0 when a disallowed tool was called.
    /// </summary>
    public static double ToolUseScore(
        IReadOnlyList<ToolCall> calls, IReadOnlyList<string> allowed, string toolName, string requiredArgument, int expectedCalls)
    {
        if (UsesDisallowedTool(calls, allowed))
        {
            return 0.0;
        }

        var valid = CountValid(calls, toolName, requiredArgument);
        return Math.Min(1.0, (double)valid / Math.Max(1, expectedCalls));
    }

    /// <summary>A string property of a JSON object, or null when the text is not such an object.</summary>
    public static string? TryGetString(string argumentsJson, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(argumentsJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty(property, out var value)
                && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
