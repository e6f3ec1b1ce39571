using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.Jsonl;

/// <summary>
/// A dataset task for data without code: prompts and answers from JSONL files (<see cref="JsonlOptions"/>), the tools
/// <c>taskOptions.tools</c> names, a reward chosen by name (<see cref="JsonlRewards"/>) and, optionally, gold conversations
/// for the warm start. The files are read and checked when the task is built: every bad line is reported with its file and
/// 1-based line number in one <see cref="ArgumentException"/>, so a run with bad data does not start. Later calls re-read a
/// file only when its modification time or length changed.
/// <para>
/// Warm start: an item's demonstration is its gold conversation from <c>taskOptions.demonstrations</c>; an item without one
/// gets a direct answer (<c>&lt;answer&gt;answer&lt;/answer&gt;</c>, no tool call) — unless tools are allowed or the reward is
/// <c>regex</c> (a direct answer would then teach skipping the tools, or answering with a pattern): then every train item
/// needs a gold conversation, and <see cref="WarmStartProblem"/> says why the warm start is unavailable otherwise.
/// </para>
/// </summary>
public sealed class JsonlTask : IAgentTask
{
    public const string TaskName = "jsonl";

    /// <summary>The system prompt when <c>taskOptions.systemPrompt</c> is not set.</summary>
    public const string DefaultSystemPrompt = "Reply with the final answer as <answer>…</answer>.";

    private readonly JsonlOptions _options;
    private readonly string _reward;
    private readonly IReadOnlyList<string> _tools;
    private readonly Lock _gate = new();
    private JsonlDataset? _dataset;

    /// <summary>
    /// Builds the task and reads its files. Without a <c>path</c> (the instance the registry reads the task's description
    /// from) nothing is read and <see cref="Generate"/> throws.
    /// </summary>
    /// <exception cref="ArgumentException">A bad option, a missing file, bad lines (each with its file and line number).</exception>
    public JsonlTask(JsonlOptions? options = null)
    {
        _options = options ?? new JsonlOptions();
        _reward = JsonlRewards.Parse(_options.Reward);
        _tools = _options.ToolList;
        if (_options.Path is not null)
        {
            _options.Validate();
            _ = Dataset;
        }
    }

    public string Name => TaskName;

    public string Description => "Your own data: prompts and answers from JSONL files (taskOptions.path), optional tools and gold conversations; exact, numeric, f1, regex or contains reward.";

    public string SystemPrompt => _options.SystemPrompt ?? DefaultSystemPrompt;

    public IReadOnlyList<string> AllowedTools => _tools;

    /// <summary>
    /// Why the warm start cannot build demonstrations for this dataset (tools allowed or a regex reward, and train items
    /// without a gold conversation), or null when it can.
    /// </summary>
    public string? WarmStartProblem => Dataset.WarmStartProblem;

    /// <summary>
    /// Up to <paramref name="count"/> distinct items of <paramref name="split"/> in a seeded order: a dataset has the items it
    /// has, so fewer come back when the split is smaller (a run's rollouts cycle through them).
    /// </summary>
    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var items = split == TaskSplit.Eval ? Dataset.Eval : Dataset.Train;
        var order = Enumerable.Range(0, items.Count).ToArray();
        new Random(TaskHash.Seed($"{TaskName}/{split}/{seed}")).Shuffle(order);
        return [.. order.Take(count).Select(i => items[i])];
    }

    public string? Validate(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Task != TaskName ? $"item of task '{item.Task}', expected '{TaskName}'" : JsonlRewards.AnswerProblem(_reward, item.Answer);
    }

    public TaskToolContext GetToolContext(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new TaskToolContext(_tools, item.Documents);
    }

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        JsonlRewards.Score(item, conversation, _reward, _options.Weights, _tools, _options.Tolerance, _options.RelativeTolerance);

    /// <summary>
    /// The item's gold conversation, or a direct answer when it may have one (see the type's summary). Tool turns written
    /// without content are filled by calling <paramref name="tools"/>; written ones are used as they are. Flaws: a wrong final
    /// answer is another item's answer; <c>WrongToolArgument</c>, which a dataset cannot make up, becomes a wrong final answer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The item needs a gold conversation and has none (<see cref="WarmStartProblem"/>).</exception>
    public async Task<Demonstration> BuildDemonstrationAsync(
        TaskItem item,
        IToolExecutor tools,
        DemonstrationFlaw flaw = DemonstrationFlaw.None,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(tools);
        var dataset = Dataset;
        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt) };
        var gold = dataset.Gold.GetValueOrDefault(item.Prompt);
        if (gold is null && dataset.NeedsGold)
        {
            throw new InvalidOperationException($"jsonl item '{item.Id}' has no gold conversation: {dataset.WarmStartProblem ?? NeedsGoldReason}");
        }

        var turns = gold ?? [new JsonlTurn(ChatRole.Assistant, AnswerText.Tag(item.Answer), null, null)];
        var final = AnswerText.Extract(turns[^1].Content ?? string.Empty, out _) ?? item.Answer;
        var wrong = dataset.WrongAnswer(item, answer => JsonlRewards.Correct(_reward, answer, item.Answer, _options.Tolerance, _options.RelativeTolerance));
        if (flaw is DemonstrationFlaw.WrongToolArgument)
        {
            flaw = DemonstrationFlaw.WrongFinalAnswer;
        }

        if (flaw is DemonstrationFlaw.WrongFinalAnswer or DemonstrationFlaw.SkipTool && wrong is null)
        {
            flaw = DemonstrationFlaw.MissingAnswerTag;   // one distinct answer in the whole dataset: nothing to be wrong with
        }

        if (flaw == DemonstrationFlaw.SkipTool)
        {
            messages.Add(ChatMessage.Assistant(AnswerText.Tag(wrong!)));
            return new Demonstration(item, messages, flaw, ToolResultsAgree: true);
        }

        var agree = true;
        ToolCall[] calls = [];
        var next = 0;
        foreach (var turn in turns.Take(turns.Count - 1))
        {
            if (turn.Role == ChatRole.Assistant)
            {
                calls = [.. turn.Calls ?? []];
                next = 0;
                messages.Add(ChatMessage.Assistant(turn.Content ?? string.Empty, calls));
                continue;
            }

            var call = calls[next++];
            var content = turn.Content;
            if (content is null)
            {
                var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
                agree &= !observation.IsError;
                content = observation.Text;
            }

            messages.Add(ChatMessage.Tool(turn.ToolName!, content));
        }

        messages.Add(ChatMessage.Assistant(flaw switch
        {
            DemonstrationFlaw.WrongFinalAnswer => AnswerText.Tag(wrong!),
            DemonstrationFlaw.MissingAnswerTag => $"The answer is {final}.",
            _ => turns[^1].Content ?? string.Empty,
        }));
        return new Demonstration(item, messages, flaw, agree);
    }

    private string NeedsGoldReason =>
        _tools.Count > 0
            ? "with taskOptions.tools set, a direct answer would teach the model to skip its tools"
            : "with reward=regex the item's answer is a pattern, not an answer to show";

    private JsonlDataset Dataset
    {
        get
        {
            if (_options.Path is null)
            {
                throw new InvalidOperationException("The jsonl task needs taskOptions.path: one or more JSONL files of {\"prompt\", \"answer\"} lines.");
            }

            // The files come from a cache keyed by path and modification time: the same parsed lines mean the same dataset.
            var files = JsonlDataset.ReadFiles(_options);
            lock (_gate)
            {
                if (_dataset is null || !_dataset.IsFrom(files))
                {
                    _dataset = JsonlDataset.Build(_options, _reward, _tools, NeedsGoldReason, files, Score);
                }

                return _dataset;
            }
        }
    }
}

/// <summary>The items and gold conversations of a <c>jsonl</c> task, checked against its options.</summary>
internal sealed class JsonlDataset
{
    private const int MaxReported = 10;

    private readonly object[] _sources;
    private readonly IReadOnlyList<string> _answers;

    private JsonlDataset(
        object[] sources, IReadOnlyList<TaskItem> train, IReadOnlyList<TaskItem> eval, IReadOnlyDictionary<string, IReadOnlyList<JsonlTurn>> gold, bool needsGold, string? warmStartProblem, bool answersArePatterns)
    {
        _sources = sources;
        Train = train;
        Eval = eval;
        Gold = gold;
        NeedsGold = needsGold;
        WarmStartProblem = warmStartProblem;
        // Without a gold conversation an item's answer is what a demonstration says, except a regex reward's pattern.
        _answers =
        [
            .. train.Concat(eval)
                .Select(i => gold.TryGetValue(i.Prompt, out var turns) ? AnswerText.Extract(turns[^1].Content ?? string.Empty, out _) : answersArePatterns ? null : i.Answer)
                .OfType<string>()
                .Distinct(StringComparer.Ordinal),
        ];
    }

    public IReadOnlyList<TaskItem> Train { get; }

    public IReadOnlyList<TaskItem> Eval { get; }

    /// <summary>Gold conversations (the turns after the prompt) by prompt.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<JsonlTurn>> Gold { get; }

    /// <summary>Whether an item without a gold conversation cannot be demonstrated (tools allowed, or a regex reward).</summary>
    public bool NeedsGold { get; }

    public string? WarmStartProblem { get; }

    /// <summary>The parsed files of the options, in order: data files, eval files, then the demonstrations file.</summary>
    public static IReadOnlyList<(string Option, string Path, object Lines)> ReadFiles(JsonlOptions options) =>
    [
        .. options.PathList.Select(p => ("path", p, (object)JsonlFiles.Items("path", p))),
        .. options.EvalPathList.Select(p => ("evalPath", p, (object)JsonlFiles.Items("evalPath", p))),
        .. options.Demonstrations is { Length: > 0 } d ? [("demonstrations", d, (object)JsonlFiles.Conversations("demonstrations", d))] : Array.Empty<(string, string, object)>(),
    ];

    public bool IsFrom(IReadOnlyList<(string Option, string Path, object Lines)> files) =>
        files.Count == _sources.Length && files.Select(f => f.Lines).Zip(_sources).All(p => ReferenceEquals(p.First, p.Second));

    /// <summary>
    /// A final answer of another item (its gold conversation's, else its answer) that <paramref name="isRight"/> rejects for
    /// this item, chosen by the item's id; null when there is none.
    /// </summary>
    public string? WrongAnswer(TaskItem item, Func<string, bool> isRight)
    {
        var start = _answers.Count == 0 ? 0 : (int)(TaskHash.Of(item.Id) % (ulong)_answers.Count);
        for (var k = 0; k < _answers.Count; k++)
        {
            var candidate = _answers[(start + k) % _answers.Count];
            if (!isRight(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <exception cref="ArgumentException">Every bad line (up to ten, then a count), each with its file and line number.</exception>
    public static JsonlDataset Build(
        JsonlOptions options, string reward, IReadOnlyList<string> tools, string needsGoldReason, IReadOnlyList<(string Option, string Path, object Lines)> files, Func<TaskItem, FinishedConversation, RewardResult> score)
    {
        var errors = new List<string>();
        var items = new List<TaskItem>();
        var firstSeen = new Dictionary<string, string>(StringComparer.Ordinal);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (option, path, lines) in files.Where(f => f.Option != "demonstrations"))
        {
            var read = (JsonlFileLines<JsonlItemLine>)lines;
            errors.AddRange(read.Errors.Select(e => $"{path} line {e.Line}: {e.Message}"));
            foreach (var line in read.Lines)
            {
                var where = $"{path} line {line.Line}";
                if (JsonlRewards.AnswerProblem(reward, line.Answer) is { } answerProblem)
                {
                    errors.Add($"{where}: {answerProblem}");
                    continue;
                }

                if (option == "evalPath" && line.Split == TaskSplit.Train)
                {
                    errors.Add($"{where}: \"split\" is \"train\" in a file of taskOptions.evalPath");
                    continue;
                }

                if (!firstSeen.TryAdd(line.Prompt, where))
                {
                    errors.Add($"{where}: the same prompt as {firstSeen[line.Prompt]}");
                    continue;
                }

                var hash = TaskHash.Of(JsonlTask.TaskName + "\n" + line.Prompt);
                var id = line.Id ?? string.Create(CultureInfo.InvariantCulture, $"{JsonlTask.TaskName}-{hash:x16}");
                if (!ids.TryAdd(id, where))
                {
                    errors.Add($"{where}: the same id '{id}' as {ids[id]}");
                    continue;
                }

                var split = option == "evalPath" ? TaskSplit.Eval
                    : line.Split ?? (options.EvalPathList.Count > 0 ? TaskSplit.Train : hash % (ulong)options.EvalModulus == 0 ? TaskSplit.Eval : TaskSplit.Train);
                items.Add(new TaskItem(id, JsonlTask.TaskName, line.Prompt, line.Answer, split, line.Metadata, line.Documents));
            }
        }

        var gold = new Dictionary<string, IReadOnlyList<JsonlTurn>>(StringComparer.Ordinal);
        var byPrompt = items.ToDictionary(i => i.Prompt, StringComparer.Ordinal);
        foreach (var (_, path, lines) in files.Where(f => f.Option == "demonstrations"))
        {
            var read = (JsonlFileLines<JsonlConversationLine>)lines;
            errors.AddRange(read.Errors.Select(e => $"{path} line {e.Line}: {e.Message}"));
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var line in read.Lines)
            {
                if (ConversationProblem(line, byPrompt, tools, seen, score) is { } problem)
                {
                    errors.Add($"{path} line {line.Line}: {problem}");
                    continue;
                }

                gold[line.Prompt] = line.Turns;
            }
        }

        var train = items.Where(i => i.Split == TaskSplit.Train).ToList();
        if (errors.Count == 0 && train.Count == 0)
        {
            errors.Add($"no train items among the {items.Count} read (all are eval: add lines, give \"split\": \"train\", or use evalPath)");
        }

        if (errors.Count > 0)
        {
            var shown = string.Join("; ", errors.Take(MaxReported));
            var more = errors.Count > MaxReported ? $"; and {errors.Count - MaxReported} more" : string.Empty;
            throw new ArgumentException($"taskOptions of task 'jsonl': {errors.Count} problem(s) in the data: {shown}{more}.");
        }

        var needsGold = tools.Count > 0 || reward == JsonlRewards.Regex;
        string? warmStartProblem = null;
        if (needsGold)
        {
            var missing = train.Where(i => !gold.ContainsKey(i.Prompt)).ToList();
            if (missing.Count > 0)
            {
                warmStartProblem = options.Demonstrations is null
                    ? $"the warm start is unavailable: {needsGoldReason}, so every train item needs a gold conversation in taskOptions.demonstrations, and none is given; give one, or train without a warm start (sftDemonstrations=0, e.g. from a policy that already answers with initFrom)"
                    : $"the warm start is unavailable: {needsGoldReason}, so every train item needs a gold conversation, and {missing.Count} of {train.Count} have none in {options.Demonstrations} (the first: {firstSeen[missing[0].Prompt]}); add them, or train without a warm start (sftDemonstrations=0)";
            }
        }

        return new JsonlDataset(
            [.. files.Select(f => f.Lines)], train, [.. items.Where(i => i.Split == TaskSplit.Eval)], gold, needsGold, warmStartProblem, reward == JsonlRewards.Regex);
    }

    private static string? ConversationProblem(
        JsonlConversationLine line, IReadOnlyDictionary<string, TaskItem> items, IReadOnlyList<string> tools, Dictionary<string, int> seen, Func<TaskItem, FinishedConversation, RewardResult> score)
    {
        if (!items.TryGetValue(line.Prompt, out var item))
        {
            return "no item of taskOptions.path or evalPath has this prompt";
        }

        if (!seen.TryAdd(line.Prompt, line.Line))
        {
            return $"a second conversation for the prompt of line {seen[line.Prompt]}";
        }

        var calls = line.Turns.SelectMany(t => t.Calls ?? []).ToList();
        if (calls.FirstOrDefault(c => !tools.Contains(c.Name, StringComparer.Ordinal)) is { } call)
        {
            return tools.Count == 0
                ? $"calls '{call.Name}', but the task allows no tools (taskOptions.tools)"
                : $"calls '{call.Name}', which taskOptions.tools does not allow ({string.Join(", ", tools)})";
        }

        var final = line.Turns[^1].Content ?? string.Empty;
        if (AnswerText.Extract(final, out _) is null)
        {
            return "the final assistant turn has no <answer>…</answer>";
        }

        var parts = score(item, new FinishedConversation(final, calls)).Parts;
        return parts[RewardParts.Correctness] >= 1.0 ? null : $"the final answer '{AnswerText.Extract(final, out _)}' is not correct for the item's answer '{item.Answer}'";
    }
}
