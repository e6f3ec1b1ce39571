using System.Globalization;

namespace AgentRl.Policy.Branching;

/// <summary>How a trajectory entered the group.</summary>
public enum RolloutNodeKind
{
    /// <summary>One of the N trajectory-level samples from the bare prompt.</summary>
    Initial,

    /// <summary>A child that copies its parent's tokens up to the fork position and continues on its own.</summary>
    Fork,

    /// <summary>A fresh sample from the bare prompt, added when every path ended with budget left.</summary>
    TopUp,
}

/// <summary>
/// One trajectory of a prompt's rollout tree. Roots are <c>0</c>, <c>1</c>, …; the i-th child of <c>0.2</c> is
/// <c>0.2.i</c>, so a path names its whole ancestry.
/// </summary>
/// <param name="Path">Node key, e.g. <c>0.2.1</c>; also the branch grain key suffix.</param>
/// <param name="ParentPath">The parent's key; null for roots (initial and top-up).</param>
/// <param name="ForkPosition">Response tokens shared with the parent: the child's tokens [0, ForkPosition) are the parent's (tool result included). 0 for roots.</param>
/// <param name="Depth">0 for roots, parent depth + 1 otherwise.</param>
/// <param name="Kind">How the node was created.</param>
/// <param name="Order">Creation order within the tree (the reference's slot index).</param>
public sealed record RolloutNode(string Path, string? ParentPath, int ForkPosition, int Depth, RolloutNodeKind Kind, int Order)
{
    public static string RootPath(int index) => index.ToString(CultureInfo.InvariantCulture);

    public static string ChildPath(string parentPath, int childIndex) => $"{parentPath}.{childIndex.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Structural checks on a recorded rollout tree.</summary>
public static class RolloutTreeValidator
{
    /// <summary>
    /// Every violation found: duplicate paths, orphans (parent missing), cycles in the parent links, paths that do not
    /// extend the parent's path, wrong depths or kinds, negative fork positions, fork positions beyond the parent's or the
    /// child's length (when <paramref name="responseLengths"/> is given), and more nodes than <paramref name="budget"/>.
    /// </summary>
    public static IReadOnlyList<string> Validate(
        IReadOnlyList<RolloutNode> nodes, int budget, IReadOnlyDictionary<string, int>? responseLengths = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var errors = new List<string>();
        if (nodes.Count > budget)
        {
            errors.Add($"budget: {nodes.Count} trajectories exceed M = {budget}");
        }

        var byPath = new Dictionary<string, RolloutNode>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (!byPath.TryAdd(node.Path, node))
            {
                errors.Add($"duplicate: path '{node.Path}' appears more than once");
            }
        }

        foreach (var node in nodes)
        {
            CheckNode(node, byPath, responseLengths, errors);
        }

        // Cycles: follow parent links; a walk longer than the node count, or revisiting a node, is a cycle.
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal) { node.Path };
            var current = node;
            while (current.ParentPath is { } parentPath && byPath.TryGetValue(parentPath, out var parent))
            {
                if (!seen.Add(parent.Path))
                {
                    if (reported.Add(parent.Path))
                    {
                        errors.Add($"cycle: parent links from '{node.Path}' return to '{parent.Path}'");
                    }

                    break;
                }

                current = parent;
            }
        }

        return errors;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> listing every violation.</summary>
    public static void ThrowIfInvalid(IReadOnlyList<RolloutNode> nodes, int budget, IReadOnlyDictionary<string, int>? responseLengths = null)
    {
        var errors = Validate(nodes, budget, responseLengths);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid rollout tree: " + string.Join("; ", errors));
        }
    }

    private static void CheckNode(
        RolloutNode node, Dictionary<string, RolloutNode> byPath, IReadOnlyDictionary<string, int>? lengths, List<string> errors)
    {
        if (node.ForkPosition < 0)
        {
            errors.Add($"fork: '{node.Path}' has a negative fork position {node.ForkPosition}");
        }

        if (node.ParentPath is null)
        {
            if (node.Kind == RolloutNodeKind.Fork || node.Depth != 0 || node.ForkPosition != 0 || node.Path.Contains('.', StringComparison.Ordinal))
            {
                errors.Add($"root: '{node.Path}' has no parent but kind {node.Kind}, depth {node.Depth}, fork {node.ForkPosition}");
            }

            return;
        }

        if (!byPath.TryGetValue(node.ParentPath, out var parent))
        {
            errors.Add($"orphan: '{node.Path}' names missing parent '{node.ParentPath}'");
            return;
        }

        var prefix = node.ParentPath + ".";
        if (!node.Path.StartsWith(prefix, StringComparison.Ordinal)
            || !int.TryParse(node.Path.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            errors.Add($"path: '{node.Path}' does not extend its parent's path '{node.ParentPath}'");
        }

        if (node.Kind != RolloutNodeKind.Fork)
        {
            errors.Add($"kind: '{node.Path}' has a parent but kind {node.Kind}");
        }

        if (node.Depth != parent.Depth + 1)
        {
            errors.Add($"depth: '{node.Path}' has depth {node.Depth}, parent depth {parent.Depth}");
        }

        if (lengths is not null)
        {
            if (lengths.TryGetValue(parent.Path, out var parentLength) && node.ForkPosition > parentLength)
            {
                errors.Add($"fork: '{node.Path}' forks at {node.ForkPosition}, beyond parent length {parentLength}");
            }

            if (lengths.TryGetValue(node.Path, out var length) && node.ForkPosition > length)
            {
                errors.Add($"fork: '{node.Path}' forks at {node.ForkPosition}, beyond its own length {length}");
            }
        }
    }
}
