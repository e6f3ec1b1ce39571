namespace AgentRl.Tasks.Arithmetic;

/// <summary>Difficulty knobs of the arithmetic task.</summary>
public sealed record ArithmeticOptions : TaskOptions
{
    /// <summary>Fewest binary operations per expression. Default 1.</summary>
    public int MinOperations { get; init; } = 1;

    /// <summary>Most binary operations per expression. Default 1 (sized for the tiny main-job model; raise for harder runs).</summary>
    public int MaxOperations { get; init; } = 1;

    /// <summary>Fewest digits of an operand. Default 2.</summary>
    public int MinDigits { get; init; } = 2;

    /// <summary>Most digits of an operand. Default 2.</summary>
    public int MaxDigits { get; init; } = 2;

    /// <summary>Whether exact integer divisions appear. Default true.</summary>
    public bool AllowDivision { get; init; } = true;

    /// <summary>Largest absolute value of the result and of every intermediate value. Default 100,000,000.</summary>
    public long MaxAbsValue { get; init; } = 100_000_000;

    /// <summary>The user prompt; <c>{expression}</c> is replaced. Default "Compute {expression}".</summary>
    public string PromptTemplate { get; init; } = "Compute {expression}";

    public override void Validate()
    {
        base.Validate();
        if (MinOperations < 1 || MaxOperations < MinOperations)
        {
            throw new ArgumentException($"Need 1 <= minOperations <= maxOperations, got {MinOperations}..{MaxOperations}.");
        }

        if (MinDigits < 1 || MaxDigits < MinDigits || MaxDigits > 9)
        {
            throw new ArgumentException($"Need 1 <= minDigits <= maxDigits <= 9, got {MinDigits}..{MaxDigits}.");
        }

        if (MaxAbsValue < 100)
        {
            throw new ArgumentException($"maxAbsValue must be at least 100, got {MaxAbsValue}.");
        }

        if (!PromptTemplate.Contains("{expression}", StringComparison.Ordinal))
        {
            throw new ArgumentException("promptTemplate must contain {expression}.");
        }
    }
}
