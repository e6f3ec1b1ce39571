using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// One line of <c>runs/&lt;run&gt;/trajectories/trajectories.NNNN.jsonl</c>: a sampled trajectory of a step, written to be
/// read by a person. Keys are camelCase, enums are their camelCase names (<c>"role": "assistant"</c>,
/// <c>"finishReason": "maxTurns"</c>), text is written as it is (<c>&lt;answer&gt;42&lt;/answer&gt;</c>, not
/// <c>\u003Canswer\u003E</c>; only what JSON requires is escaped), null fields are left out, and a tool call's arguments
/// are the JSON object the model wrote (<c>"arguments": {"expression":"1+2"}</c>). The item's gold answer and the reward
/// with its named parts come before the conversation; the token ids and loss mask, which only a program reads, are
/// grouped in <see cref="Tokens"/> at the end of the line.
/// </summary>
/// <param name="Step">The RL step that generated it.</param>
/// <param name="GroupId">Its group (episode), <c>{run}/{step}/{i}</c>.</param>
/// <param name="BranchPath">Its path in the rollout tree (<c>0</c>, <c>1</c>, <c>0.2</c> for a fork of root 0).</param>
/// <param name="ParentPath">The parent's path for a forked child.</param>
/// <param name="ForkPosition">The token offset a forked child continues from.</param>
/// <param name="Depth">Forks above it (0 for a root).</param>
/// <param name="ItemId">The task item's id, when the run knows the item (null for a swarm group from another run).</param>
/// <param name="GoldAnswer">The item's reference answer, likewise.</param>
/// <param name="Reward">The reward trained on (after the objective's shaping).</param>
/// <param name="RewardParts">The reward's named parts (<c>correctness</c>, <c>format</c>, <c>tool_use</c>, penalties).</param>
/// <param name="FinishReason">Why the trajectory ended.</param>
/// <param name="Error">The infrastructure error that ended it, if any.</param>
/// <param name="Conversation">The conversation, system prompt first.</param>
/// <param name="Tokens">Token ids, loss mask, per-token entropy and where each message ends.</param>
/// <param name="ForkEntropyDelta">For a forked child, ΔH at its fork point (the entropy rise that granted the fork).</param>
public sealed record TrajectoryRecord(
    long Step,
    string GroupId,
    string BranchPath,
    string? ParentPath,
    int? ForkPosition,
    int Depth,
    string? ItemId,
    string? GoldAnswer,
    double Reward,
    IReadOnlyDictionary<string, double>? RewardParts,
    FinishReason FinishReason,
    string? Error,
    IReadOnlyList<TrajectoryMessage>? Conversation,
    TrajectoryTokens? Tokens,
    [property: JsonPropertyOrder(-1)] double? ForkEntropyDelta = null)
{
    /// <summary>
    /// The options the log is written and read with: camelCase keys, enums by camelCase name, relaxed escaping (no
    /// <c>\u003C</c> for <c>&lt;</c>, <c>\u0022</c> for a quote or <c>\u002B</c> for <c>+</c>), nulls left out. Reading is
    /// case-insensitive and accepts enum numbers, so logs of earlier versions (PascalCase keys, numeric enums) still read.
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The base name of a run's log files: <c>trajectories/trajectories.NNNN.jsonl</c>.</summary>
    public const string FileBaseName = "trajectories";

    /// <summary>The record of <paramref name="trajectory"/> sampled at <paramref name="step"/>; the item's id and gold answer when known.</summary>
    public static TrajectoryRecord From(long step, Trajectory trajectory, string? itemId = null, string? goldAnswer = null)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        return new TrajectoryRecord(
            step,
            trajectory.GroupId,
            trajectory.BranchPath,
            trajectory.ParentPath,
            trajectory.ForkPosition,
            trajectory.Depth,
            itemId,
            goldAnswer,
            trajectory.Reward,
            trajectory.RewardParts,
            trajectory.FinishReason,
            trajectory.Error,
            [.. trajectory.Conversation.Select(TrajectoryMessage.From)],
            new TrajectoryTokens(trajectory.PromptLength, trajectory.TokenIds, [.. trajectory.LossMask.Select(m => (int)m)], TrajectoryTokens.Compact(trajectory.Entropies), trajectory.MessageEnds.Length > 0 ? trajectory.MessageEnds : null),
            trajectory.ForkEntropyDelta is { } delta ? Math.Round(delta, 4) : null);
    }

    /// <summary>
    /// Every record in the log files of <paramref name="directory"/> (<c>trajectories.NNNN.jsonl</c>, in order); a line
    /// that is not a record (a torn last line) is skipped. None when the directory is missing.
    /// </summary>
    public static IReadOnlyList<TrajectoryRecord> ReadAll(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var records = new List<TrajectoryRecord>();
        foreach (var file in Directory.GetFiles(directory, FileBaseName + ".*.jsonl").Order(StringComparer.Ordinal))
        {
            records.AddRange(Parse(File.ReadLines(file)));
        }

        return records;
    }

    /// <summary>
    /// Every record of a run's logs read through the cluster (<see cref="IRunFilesGrain"/>: the silos' disk, not the
    /// client's), in order, as <see cref="ReadAll"/> reads a local folder.
    /// </summary>
    public static async Task<IReadOnlyList<TrajectoryRecord>> ReadAllAsync(IRunFilesGrain files, string runId, CancellationToken cancellationToken = default)
    {
        var records = new List<TrajectoryRecord>();
        foreach (var name in await files.ListTrajectoryFilesAsync(runId, cancellationToken))
        {
            if (name.StartsWith(FileBaseName + ".", StringComparison.Ordinal)
                && await files.ReadTextAsync(runId, $"{RunFiles.TrajectoryFolder}/{name}", cancellationToken) is { } text)
            {
                records.AddRange(Parse(text.Split('\n')));
            }
        }

        return records;
    }

    /// <summary>The records of a log's lines; a line that is not a record (a torn last line) is skipped.</summary>
    public static IEnumerable<TrajectoryRecord> Parse(IEnumerable<string> lines)
    {
        foreach (var line in lines.Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0))
        {
            TrajectoryRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<TrajectoryRecord>(line, JsonOptions);
            }
            catch (JsonException)
            {
                record = null;   // a line torn by a crash mid-write
            }

            if (record is { GroupId: not null })
            {
                yield return record;
            }
        }
    }
}

/// <summary>One turn of a logged conversation.</summary>
/// <param name="Role">Who speaks: <c>system</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Content">The text, as the model wrote it or the tool returned it.</param>
/// <param name="ToolName">For a tool turn, the tool that answered.</param>
/// <param name="ToolCalls">For an assistant turn, the calls it made.</param>
public sealed record TrajectoryMessage(ChatRole Role, string Content, string? ToolName = null, IReadOnlyList<TrajectoryToolCall>? ToolCalls = null)
{
    public static TrajectoryMessage From(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(message.Role, message.Content, message.ToolName, message.ToolCalls is { Count: > 0 } calls ? [.. calls.Select(TrajectoryToolCall.From)] : null);
    }
}

/// <summary>A tool call of a logged turn.</summary>
/// <param name="Name">The tool the model named.</param>
/// <param name="Arguments">The arguments as the JSON value the model wrote, or as a JSON string when they were not JSON.</param>
public sealed record TrajectoryToolCall(string Name, JsonElement Arguments)
{
    public static TrajectoryToolCall From(ToolCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        JsonElement arguments;
        try
        {
            using var document = JsonDocument.Parse(call.ArgumentsJson);
            arguments = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            arguments = JsonSerializer.SerializeToElement(call.ArgumentsJson);
        }

        return new(call.Name, arguments);
    }

    /// <summary>The arguments as text: the JSON the model wrote (a string argument list as its text).</summary>
    public string ArgumentsText() => Arguments.ValueKind switch
    {
        JsonValueKind.String => Arguments.GetString()!,
        JsonValueKind.Undefined => "",
        _ => Arguments.GetRawText(),
    };
}

/// <summary>The token view of a logged trajectory.</summary>
/// <param name="PromptLength">Tokens of the prompt (system and user turns) at the start of <paramref name="Ids"/>.</param>
/// <param name="Ids">Every token id, prompt first.</param>
/// <param name="LossMask">Per token, 1 where the model generated it (trained on), 0 for prompt and tool-result tokens.</param>
/// <param name="Entropies">Per token, the policy's full-vocabulary entropy (nats) when it generated the token, to 3 decimals; 0 where not generated.</param>
/// <param name="MessageEnds">For each message of the conversation, the token offset where it ends (tool results of one turn share the end of their observation).</param>
public sealed record TrajectoryTokens(int PromptLength, IReadOnlyList<int> Ids, IReadOnlyList<int> LossMask, IReadOnlyList<float>? Entropies = null, IReadOnlyList<int>? MessageEnds = null)
{
    /// <summary>Entropies to 3 decimals (a log line stays short: <c>0.412</c>, not <c>0.41237903</c>); null when none were recorded.</summary>
    public static IReadOnlyList<float>? Compact(float[]? entropies) =>
        entropies is { Length: > 0 } ? [.. entropies.Select(e => float.IsFinite(e) ? MathF.Round(e, 3) : 0f)] : null;
}
