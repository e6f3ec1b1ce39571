namespace AgentRl.Tasks;

/// <summary>Options every task shares. Defaults are documented per property.</summary>
public abstract record TaskOptions
{
    /// <summary>Weight of answer correctness in the score (F1 for kb-multihop). Default 0.8.</summary>
    public double CorrectnessWeight { get; init; } = 0.8;

    /// <summary>Weight of the answer-tag format check. Default 0.1.</summary>
    public double FormatWeight { get; init; } = 0.1;

    /// <summary>Weight of the tool-use check. Default 0.1.</summary>
    public double ToolUseWeight { get; init; } = 0.1;

    /// <summary>Replaces the task's system prompt when set. Default: the task's own short prompt.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>One problem in this many (by a stable hash of its prompt) belongs to the eval split. Default 5.</summary>
    public int EvalModulus { get; init; } = 5;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option.</summary>
    public virtual void Validate()
    {
        if (CorrectnessWeight < 0 || FormatWeight < 0 || ToolUseWeight < 0)
        {
            throw new ArgumentException("Reward weights must be non-negative.");
        }

        if (CorrectnessWeight + FormatWeight + ToolUseWeight <= 0)
        {
            throw new ArgumentException("At least one reward weight must be positive.");
        }

        if (EvalModulus < 2)
        {
            throw new ArgumentException($"evalModulus must be at least 2, got {EvalModulus}.");
        }
    }

    /// <summary>The three weights as the rewards take them (for plug-in tasks as much as for the bundled ones).</summary>
    public Rewards.RewardWeights Weights => new(CorrectnessWeight, FormatWeight, ToolUseWeight);
}
