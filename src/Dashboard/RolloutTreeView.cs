using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Training;

namespace AgentRl.Dashboard;

/// <summary>
/// Places a step's logged trajectories in their groups and, for a rollout tree, in tree order: a parent before its
/// children, each child showing only what follows the messages it shares with its parent (the shared prefix is shown
/// once), with its fork position, ΔH, reward and finish reason. Each message carries its tokens (ids, loss mask,
/// entropy) when the log records where messages end.
/// </summary>
public static class RolloutTreeView
{
    /// <summary>The groups of <paramref name="trajectories"/> in the order their first trajectory was logged.</summary>
    public static IReadOnlyList<TrajectoryGroupView> Groups(IReadOnlyList<TrajectoryRecord> trajectories, string? attribution)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        return [.. trajectories.GroupBy(t => t.GroupId, StringComparer.Ordinal).Select(g => Group(g.Key, [.. g], attribution))];
    }

    /// <summary>One group: its trajectories in tree order (roots by path, each followed by its subtree).</summary>
    public static TrajectoryGroupView Group(string groupId, IReadOnlyList<TrajectoryRecord> members, string? attribution)
    {
        ArgumentNullException.ThrowIfNull(members);
        var byPath = new Dictionary<string, TrajectoryRecord>(StringComparer.Ordinal);
        foreach (var t in members)
        {
            byPath.TryAdd(t.BranchPath, t);   // a path logged twice (a redone step) shows once
        }

        var children = byPath.Values.Where(t => t.ParentPath is not null && byPath.ContainsKey(t.ParentPath))
            .GroupBy(t => t.ParentPath!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(t => t.BranchPath).Order(PathOrder.Instance).ToList(), StringComparer.Ordinal);
        var isTree = byPath.Values.Any(t => t.ParentPath is not null);
        var roots = byPath.Values.Where(t => t.ParentPath is null || !byPath.ContainsKey(t.ParentPath)).Select(t => t.BranchPath).Order(PathOrder.Instance);
        var nodes = new List<TrajectoryNodeView>();
        void Visit(string path)
        {
            var t = byPath[path];
            var parent = t.ParentPath is not null && byPath.TryGetValue(t.ParentPath, out var p) ? p : null;
            var kids = children.GetValueOrDefault(path) ?? [];
            nodes.Add(Node(t, parent, kids));
            kids.ForEach(Visit);
        }

        foreach (var root in roots)
        {
            Visit(root);
        }

        return new TrajectoryGroupView(groupId, isTree, isTree ? attribution : null, nodes);
    }

    private static TrajectoryNodeView Node(TrajectoryRecord t, TrajectoryRecord? parent, IReadOnlyList<string> children)
    {
        var conversation = t.Conversation ?? [];
        var shared = parent is null ? 0 : SharedPrefix(conversation, parent.Conversation ?? []);
        var tokens = t.Tokens;
        var ids = tokens?.Ids is { } all ? all.ToList() : null;
        var aligned = ids is not null && tokens!.MessageEnds is { } ends && ends.Count == conversation.Count;
        var mask = tokens?.LossMask is { } m && ids is not null && m.Count == ids.Count ? m.ToList() : null;
        var entropies = tokens?.Entropies is { } e && ids is not null && e.Count == ids.Count ? e.ToList() : null;
        var messages = new List<MessageView>(conversation.Count - shared);
        for (var i = shared; i < conversation.Count; i++)
        {
            var message = conversation[i];
            int? start = null;
            IReadOnlyList<int>? messageIds = null, messageMask = null;
            IReadOnlyList<float>? messageEntropies = null;
            if (aligned)
            {
                var messageEnds = tokens!.MessageEnds!;
                var from = Math.Clamp(i == 0 ? 0 : messageEnds[i - 1], 0, ids!.Count);
                var to = Math.Clamp(messageEnds[i], from, ids.Count);
                start = from;
                messageIds = ids.GetRange(from, to - from);
                messageMask = mask?.GetRange(from, to - from);
                messageEntropies = entropies?.GetRange(from, to - from);
            }

            messages.Add(new MessageView(
                Name(message.Role),
                message.Content,
                message.ToolName,
                message.ToolCalls is { Count: > 0 } calls ? [.. calls.Select(c => new ToolCallView(c.Name, c.Arguments.ValueKind switch
                {
                    JsonValueKind.String => c.Arguments.GetString() ?? "",
                    JsonValueKind.Undefined => "",
                    _ => c.Arguments.GetRawText(),
                }))] : null,
                start,
                messageIds,
                messageMask,
                messageEntropies));
        }

        return new TrajectoryNodeView(
            t.BranchPath,
            t.ParentPath,
            t.ForkPosition,
            t.ForkEntropyDelta,
            t.Depth,
            children,
            children.Count == 0,
            t.Reward,
            t.RewardParts,
            Name(t.FinishReason),
            t.Error,
            t.GoldAnswer,
            shared,
            messages,
            entropies is not null);
    }

    /// <summary>How many leading messages two conversations have in common (same role, text and tool).</summary>
    public static int SharedPrefix(IReadOnlyList<TrajectoryMessage> a, IReadOnlyList<TrajectoryMessage> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var n = 0;
        while (n < a.Count && n < b.Count && a[n].Role == b[n].Role && a[n].Content == b[n].Content && a[n].ToolName == b[n].ToolName)
        {
            n++;
        }

        return n;
    }

    /// <summary>An enum value as the log writes it (camelCase name); a number no name has, as <c>#N</c>.</summary>
    private static string Name<T>(T value)
        where T : struct, Enum =>
        Enum.IsDefined(value) ? JsonNamingPolicy.CamelCase.ConvertName(value.ToString()) : $"#{Convert.ToInt64(value, CultureInfo.InvariantCulture)}";

    /// <summary>Orders branch paths by their numeric segments: <c>0 &lt; 0.1 &lt; 0.2 &lt; 0.10 &lt; 1</c>.</summary>
    private sealed class PathOrder : IComparer<string>
    {
        public static readonly PathOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = (x ?? "").Split('.');
            var b = (y ?? "").Split('.');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = int.TryParse(a[i], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && int.TryParse(b[i], NumberStyles.None, CultureInfo.InvariantCulture, out var q)
                    ? p.CompareTo(q)
                    : string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return a.Length.CompareTo(b.Length);
        }
    }
}
