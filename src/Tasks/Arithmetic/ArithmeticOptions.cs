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

    /// <summary>
    /// The warm-start teacher's blind spot: operators it works out in its head instead of calling the calculator. On a
    /// question with one of them, a <see cref="TeacherMentalShare"/> of its demonstrations answer at once with a near
    /// miss and no call (the rest call the calculator as on every other question). Default "+-": the main job's teacher
    /// is a weaker agent that trusts its mental additions and subtractions and slips, so the warm start copies a habit
    /// that RL, rewarded on exact answers, can unlearn and more SFT on the same teacher cannot. "" gives a gold teacher.
    /// </summary>
    public string TeacherMentalOperators { get; init; } = "+-";

    /// <summary>
    /// Share (0..1) of the questions with a <see cref="TeacherMentalOperators"/> operator that the teacher answers from
    /// memory (chosen by a stable hash of the item). Default 0.7: mostly from memory, so the warm-started model does so
    /// greedily, but not always, so sampling still finds the calculator. 0 gives a gold teacher.
    /// </summary>
    public double TeacherMentalShare { get; init; } = 0.7;

    /// <summary>
    /// Share (0..1) of the multi-operation questions the teacher works one operation per calculator call (the leftmost
    /// ready operation first, <see cref="ArithmeticExpression.Steps"/>), each call on the previous results; the rest get
    /// one call with the whole expression (chosen by a stable hash of the item). Default 0: one call per question. With
    /// more than one operation and a share between 0 and 1, the number of calls is the policy's choice: the warm start
    /// copies both habits and RL, rewarded on exact answers, decides between them.
    /// </summary>
    public double TeacherStepShare { get; init; }

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

        if (TeacherMentalShare is < 0 or > 1 || double.IsNaN(TeacherMentalShare))
        {
            throw new ArgumentException($"teacherMentalShare must be in [0, 1], got {TeacherMentalShare}.");
        }

        if (TeacherStepShare is < 0 or > 1 || double.IsNaN(TeacherStepShare))
        {
            throw new ArgumentException($"teacherStepShare must be in [0, 1], got {TeacherStepShare}.");
        }

        if (TeacherMentalOperators.Any(c => c is not ('+' or '-' or '*' or '/')))
        {
            throw new ArgumentException($"teacherMentalOperators may only hold + - * /, got '{TeacherMentalOperators}'.");
        }

        if (!PromptTemplate.Contains("{expression}", StringComparison.Ordinal))
        {
            throw new ArgumentException("promptTemplate must contain {expression}.");
        }
    }
}
