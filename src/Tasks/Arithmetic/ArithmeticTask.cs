using System.Globalization;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.Arithmetic;

/// <summary>Multi-step integer expressions solved with <c>calculator-evaluate</c>; exact-match reward.</summary>
public sealed partial class ArithmeticTask : IAgentTask
{
    public const string TaskName = "arithmetic";
    public const string CalculatorTool = "calculator-evaluate";
    public const string ExpressionArgument = "expression";

    /// <summary>Metadata key holding the expression.</summary>
    public const string ExpressionKey = "expression";

    /// <summary>
    /// Empty: the chat template still lists the calculator, and a randomly initialised tiny model learns the format from
    /// its warm start, where every system-prompt token is context it must learn to look past (in one seeded comparison,
    /// without the former 57-byte prompt the copy circuit formed ~200 SFT steps earlier and each step was ~20 % cheaper).
    /// Give a pretrained policy the
    /// instruction through <c>taskOptions.SystemPrompt</c>, e.g. <see cref="PretrainedSystemPrompt"/>.
    /// </summary>
    public const string DefaultSystemPrompt = "";

    /// <summary>A system prompt that tells a pretrained model the answer format.</summary>
    public const string PretrainedSystemPrompt = "Use calculator-evaluate, then answer <answer>N</answer>.";

    internal static readonly IReadOnlyList<string> Tools = new[] { CalculatorTool };

    private readonly ArithmeticOptions _options;

    public ArithmeticTask(ArithmeticOptions? options = null)
    {
        _options = options ?? new ArithmeticOptions();
        _options.Validate();
    }

    public string Name => TaskName;

    public string Description => "Multi-step integer arithmetic with parentheses, solved with calculator-evaluate; exact-match reward.";

    public string SystemPrompt => _options.SystemPrompt ?? DefaultSystemPrompt;

    public IReadOnlyList<string> AllowedTools => Tools;

    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed) =>
        SplitSampler.Sample(TaskName, split, count, seed, _options.EvalModulus, rng =>
        {
            var (expression, value) = ArithmeticExpression.Generate(rng, _options);
            return new TaskCandidate(
                _options.PromptTemplate.Replace("{expression}", expression, StringComparison.Ordinal),
                value.ToString(CultureInfo.InvariantCulture),
                new Dictionary<string, string> { [ExpressionKey] = expression });
        });

    public string? Validate(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Task != TaskName)
        {
            return $"item of task '{item.Task}', expected '{TaskName}'";
        }

        if (!item.Metadata.TryGetValue(ExpressionKey, out var expression))
        {
            return $"metadata '{ExpressionKey}' is missing";
        }

        if (!ArithmeticExpression.TryEvaluate(expression, out var value))
        {
            return $"expression '{expression}' does not evaluate to an integer";
        }

        return AnswerText.TryParseInteger(item.Answer, out var answer) && answer == value
            ? null
            : $"answer '{item.Answer}' differs from the expression's value {value.ToString(CultureInfo.InvariantCulture)}";
    }

    public TaskToolContext GetToolContext(TaskItem item) => new(Tools, []);

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        ArithmeticReward.Score(item, conversation, _options.Weights);

    public async Task<Demonstration> BuildDemonstrationAsync(
        TaskItem item,
        IToolExecutor tools,
        DemonstrationFlaw flaw = DemonstrationFlaw.None,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(tools);
        var expression = item.RequireMetadata(ExpressionKey);
        var truth = long.Parse(item.Answer, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        flaw = flaw == DemonstrationFlaw.None && TeacherAnswersFromMemory(item.Id, expression) ? DemonstrationFlaw.SkipTool : flaw;
        var rng = new Random(TaskHash.Seed($"{item.Id}/{flaw}"));

        if (flaw == DemonstrationFlaw.SkipTool)
        {
            return new Demonstration(item, [ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt), ChatMessage.Assistant(AnswerText.Tag(WrongBy(truth, rng).ToString(CultureInfo.InvariantCulture)))], flaw, ToolResultsAgree: true);
        }

        var calledExpression = expression;
        var answer = truth;
        if (flaw == DemonstrationFlaw.WrongToolArgument)
        {
            if (TryPerturb(expression, truth, rng, out var perturbed, out var perturbedValue))
            {
                (calledExpression, answer) = (perturbed, perturbedValue);
            }
            else
            {
                flaw = DemonstrationFlaw.WrongFinalAnswer;
            }
        }

        if (flaw == DemonstrationFlaw.None && TeacherWorksStepByStep(item.Id, expression))
        {
            return await StepByStepDemonstrationAsync(item, expression, truth, tools, cancellationToken).ConfigureAwait(false);
        }

        var call = new ToolCall(CalculatorTool, ToolArguments.Json((ExpressionArgument, calledExpression)));
        var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
        var agree = !observation.IsError && AnswerText.TryParseInteger(observation.Text, out var observed) && observed == answer;

        if (flaw == DemonstrationFlaw.WrongFinalAnswer)
        {
            answer = WrongBy(truth, rng);
        }

        var answerText = answer.ToString(CultureInfo.InvariantCulture);
        var final = flaw == DemonstrationFlaw.MissingAnswerTag ? $"The answer is {answerText}." : AnswerText.Tag(answerText);
        ChatMessage[] messages =
        [
            ChatMessage.System(SystemPrompt),
            ChatMessage.User(item.Prompt),
            ChatMessage.Assistant(string.Empty, call),
            ChatMessage.Tool(CalculatorTool, observation.Text),
            ChatMessage.Assistant(final),
        ];
        return new Demonstration(item, messages, flaw, agree);
    }

    /// <summary>
    /// Whether the teacher works this question out in its head (<see cref="ArithmeticOptions.TeacherMentalOperators"/>):
    /// it has one of those operators and falls in the <see cref="ArithmeticOptions.TeacherMentalShare"/> by a stable hash
    /// of the item, so a demonstration set is the same whatever its order or size.
    /// </summary>
    public bool TeacherAnswersFromMemory(string itemId, string expression) =>
        _options.TeacherMentalShare > 0
        && expression.AsSpan().IndexOfAny(_options.TeacherMentalOperators) >= 0
        && (TaskHash.Of($"teacher/{itemId}") % 10_000) < _options.TeacherMentalShare * 10_000;

    /// <summary>
    /// Whether the teacher chains one call per operation on this question (<see cref="ArithmeticOptions.TeacherStepShare"/>):
    /// it has more than one operation and falls in the share by a stable hash of the item.
    /// </summary>
    public bool TeacherWorksStepByStep(string itemId, string expression) =>
        _options.TeacherStepShare > 0
        && (TaskHash.Of($"teacher-steps/{itemId}") % 10_000) < _options.TeacherStepShare * 10_000
        && ArithmeticExpression.Steps(expression).Count > 1;

    /// <summary>One assistant turn per step: a call on the step's expression, its result, and the last result as the answer.</summary>
    private async Task<Demonstration> StepByStepDemonstrationAsync(TaskItem item, string expression, long truth, IToolExecutor tools, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt) };
        var agree = true;
        foreach (var (step, value) in ArithmeticExpression.Steps(expression))
        {
            var call = new ToolCall(CalculatorTool, ToolArguments.Json((ExpressionArgument, step)));
            var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
            agree &= !observation.IsError && AnswerText.TryParseInteger(observation.Text, out var observed) && observed == value;
            messages.Add(ChatMessage.Assistant(string.Empty, call));
            messages.Add(ChatMessage.Tool(CalculatorTool, observation.Text));
        }

        messages.Add(ChatMessage.Assistant(AnswerText.Tag(truth.ToString(CultureInfo.InvariantCulture))));
        return new Demonstration(item, messages, DemonstrationFlaw.None, agree);
    }

    /// <summary>A wrong answer near <paramref name="truth"/>: off by 1–9 or 10–90.</summary>
    private static long WrongBy(long truth, Random rng) =>
        truth + (rng.Next(1, 10) * (rng.Next(2) == 0 ? 1 : -1) * (rng.Next(2) == 0 ? 1 : 10));

    /// <summary>Changes one operand so the expression still evaluates exactly but to a different value.</summary>
    private static bool TryPerturb(string expression, long truth, Random rng, out string perturbed, out long value)
    {
        var numbers = Operand().Matches(expression);
        for (var attempt = 0; attempt < 100 && numbers.Count > 0; attempt++)
        {
            var match = numbers[rng.Next(numbers.Count)];
            var original = long.Parse(match.Value, CultureInfo.InvariantCulture);
            var changed = original + (rng.Next(1, 10) * (rng.Next(2) == 0 ? 1 : -1));
            if (changed < 1)
            {
                continue;
            }

            var candidate = string.Concat(
                expression.AsSpan(0, match.Index), changed.ToString(CultureInfo.InvariantCulture), expression.AsSpan(match.Index + match.Length));
            if (ArithmeticExpression.TryEvaluate(candidate, out value) && value != truth)
            {
                perturbed = candidate;
                return true;
            }
        }

        perturbed = expression;
        value = truth;
        return false;
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Operand();
}
