using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Training;

namespace AgentRl.Cli.Commands;

/// <summary>
/// How <c>agentrl eval --show</c> and <c>agentrl runs show</c> print a trajectory: a header line starting <c>---</c>, then one
/// line per turn after the system prompt, <c>role: content</c>, an assistant turn's tool calls after it as
/// <c>[tool arguments]</c>.
/// </summary>
public static class TrajectoryText
{
    public static void Write(TextWriter output, string header, IEnumerable<TrajectoryMessage> conversation)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(conversation);
        output.WriteLine(header);
        foreach (var message in conversation.Where(m => m.Role != ChatRole.System))
        {
            var calls = message.ToolCalls is { Count: > 0 } c ? " " + string.Join(' ', c.Select(x => $"[{x.Name} {x.ArgumentsText()}]")) : "";
            output.WriteLine($"{message.Role.ToString().ToLowerInvariant()}: {message.Content}{calls}");
        }
    }

    /// <summary>A logged trajectory as <c>runs show</c> prints it: step, group, tree path, reward, finish reason, then the gold answer and reward parts.</summary>
    public static void Write(TextWriter output, TrajectoryRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var finish = System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(record.FinishReason.ToString());
        var header = string.Create(CultureInfo.InvariantCulture, $"--- step {record.Step} {record.GroupId} path {record.BranchPath} reward {record.Reward:0.00} finish {finish}");
        var parts = record.RewardParts is { Count: > 0 } p
            ? string.Join(", ", p.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.##}")))
            : "-";
        var details = $"gold: {record.GoldAnswer ?? "-"}; reward parts: {parts}{(record.Error is null ? "" : $"; error: {record.Error}")}";
        Write(output, header + Environment.NewLine + details, record.Conversation ?? []);
    }
}
