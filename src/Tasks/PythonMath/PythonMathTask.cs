using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.PythonMath;

/// <summary>
/// Problems that need a short program (counting with conditions, sums, primes in a range, days between dates, digit
/// sums, Collatz steps), solved with <c>python-run</c>; the truth is computed in C#; exact-match reward.
/// </summary>
public sealed class PythonMathTask : IAgentTask
{
    public const string TaskName = "python-math";
    public const string PythonTool = "python-run";
    public const string CodeArgument = "code";

    /// <summary>Metadata: the problem family and its integer arguments (comma-separated).</summary>
    public const string FamilyKey = "family";
    public const string ArgsKey = "args";

    public const string DefaultSystemPrompt =
        "Solve it by running a short Python program with python-run that prints the result. Reply as <answer>N</answer>.";

    internal static readonly IReadOnlyList<string> Tools = new[] { PythonTool };

    private readonly PythonMathOptions _options;

    public PythonMathTask(PythonMathOptions? options = null)
    {
        _options = options ?? new PythonMathOptions();
        _options.Validate();
    }

    public string Name => TaskName;

    public string Description => "Counting, sums, primes, dates, digit sums and Collatz steps solved by running Python with python-run; exact-match reward.";

    public string SystemPrompt => _options.SystemPrompt ?? DefaultSystemPrompt;

    public IReadOnlyList<string> AllowedTools => Tools;

    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed)
    {
        var families = _options.FamilyNames.Select(PythonMathProblems.Get).ToArray();
        return SplitSampler.Sample(TaskName, split, count, seed, _options.EvalModulus, rng =>
        {
            var family = families[rng.Next(families.Length)];
            var args = family.Sample(rng, _options.Scale);
            return new TaskCandidate(
                family.Prompt(args),
                family.Truth(args),
                new Dictionary<string, string> { [FamilyKey] = family.Name, [ArgsKey] = PythonMathProblems.FormatArgs(args) });
        });
    }

    public string? Validate(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Task != TaskName)
        {
            return $"item of task '{item.Task}', expected '{TaskName}'";
        }

        if (!item.Metadata.TryGetValue(FamilyKey, out var name) || PythonMathProblems.Families.FirstOrDefault(f => f.Name == name) is not { } family)
        {
            return $"metadata '{FamilyKey}' is missing or names no known family";
        }

        long[] args;
        try
        {
            args = PythonMathProblems.ParseArgs(item.Metadata.TryGetValue(ArgsKey, out var text) ? text : string.Empty);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return $"metadata '{ArgsKey}' is not a comma-separated list of integers";
        }

        if (args.Length != family.Sample(new Random(0), 100).Length || !family.IsValid(args))
        {
            return $"arguments '{PythonMathProblems.FormatArgs(args)}' are not valid for {family.Name}";
        }

        var truth = family.Truth(args);
        return truth == item.Answer ? null : $"answer '{item.Answer}' differs from the computed {truth}";
    }

    public TaskToolContext GetToolContext(TaskItem item) => new(Tools, []);

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        PythonMathReward.Score(item, conversation, _options.Weights);

    public async Task<Demonstration> BuildDemonstrationAsync(
        TaskItem item,
        IToolExecutor tools,
        DemonstrationFlaw flaw = DemonstrationFlaw.None,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(tools);
        var family = PythonMathProblems.Get(item.RequireMetadata(FamilyKey));
        var args = PythonMathProblems.ParseArgs(item.RequireMetadata(ArgsKey));
        var rng = new Random(TaskHash.Seed($"{item.Id}/{flaw}"));
        var answer = item.Answer;
        if (flaw == DemonstrationFlaw.SkipTool)
        {
            var guess = AnswerText.TryParseInteger(answer, out var exact)
                ? (exact + (rng.Next(1, 10) * (rng.Next(2) == 0 ? 1 : -1))).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : answer + "?";
            return new Demonstration(item, [ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt), ChatMessage.Assistant(AnswerText.Tag(guess))], flaw, ToolResultsAgree: true);
        }

        if (flaw == DemonstrationFlaw.WrongToolArgument)
        {
            if (TryPerturb(family, args, item.Answer, rng) is { } wrongArgs)
            {
                args = wrongArgs;
                answer = family.Truth(args);
            }
            else
            {
                flaw = DemonstrationFlaw.WrongFinalAnswer;
            }
        }

        var call = new ToolCall(PythonTool, ToolArguments.Json((CodeArgument, family.Program(args))));
        var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
        var lastLine = observation.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        var agree = !observation.IsError && lastLine == answer;

        if (flaw == DemonstrationFlaw.WrongFinalAnswer && AnswerText.TryParseInteger(answer, out var truth))
        {
            answer = (truth + (rng.Next(1, 10) * (rng.Next(2) == 0 ? 1 : -1))).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var final = flaw == DemonstrationFlaw.MissingAnswerTag ? $"The answer is {answer}." : AnswerText.Tag(answer);
        ChatMessage[] messages =
        [
            ChatMessage.System(SystemPrompt),
            ChatMessage.User(item.Prompt),
            ChatMessage.Assistant(string.Empty, call),
            ChatMessage.Tool(PythonTool, observation.Text),
            ChatMessage.Assistant(final),
        ];
        return new Demonstration(item, messages, flaw, agree);
    }

    /// <summary>Nudges one argument (a misread bound, an off-by-one; wider when small nudges change nothing) so the program is valid but answers differently.</summary>
    private static long[]? TryPerturb(PythonMathFamily family, long[] args, string truth, Random rng)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var changed = (long[])args.Clone();
            changed[rng.Next(changed.Length)] += rng.Next(1, 4) * (1 + (attempt / 10)) * (rng.Next(2) == 0 ? 1 : -1);
            if (family.IsValid(changed) && family.Truth(changed) != truth)
            {
                return changed;
            }
        }

        return null;
    }
}
