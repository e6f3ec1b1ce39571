namespace AgentRl.Tasks.Rewards;

/// <summary>Names of reward parts, stable for metrics (<c>reward/correctness</c>, …).</summary>
public static class RewardParts
{
    /// <summary>1 when the extracted answer matches the reference exactly (after normalisation), else 0.</summary>
    public const string Correctness = "correctness";

    /// <summary>1 when the final text holds exactly one non-empty <c>&lt;answer&gt;…&lt;/answer&gt;</c>, else 0.</summary>
    public const string Format = "format";

    /// <summary>Share of the expected tool calls made with valid arguments (0..1).</summary>
    public const string ToolUse = "tool_use";

    /// <summary>SQuAD token F1 of the extracted answer against the reference (kb-multihop).</summary>
    public const string F1 = "f1";
}

/// <summary>A reward: the score and the named parts it was computed from.</summary>
public sealed record RewardResult(double Score, IReadOnlyDictionary<string, double> Parts);

/// <summary>Weights combining the parts: score = correctness·wc + format·wf + tool_use·wt.</summary>
public sealed record RewardWeights(double Correctness, double Format, double ToolUse)
{
    public static RewardWeights Default { get; } = new(0.8, 0.1, 0.1);

    /// <summary>The best score a conversation can get.</summary>
    public double Max => Correctness + Format + ToolUse;

    public double Combine(double correctness, double format, double toolUse) =>
        (Correctness * correctness) + (Format * format) + (ToolUse * toolUse);
}
