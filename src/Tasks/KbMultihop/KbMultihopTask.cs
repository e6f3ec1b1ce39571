using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tasks.KbMultihop;

/// <summary>
/// Multi-hop questions over a small generated knowledge base per item, answered by chaining <c>kb-search</c> calls;
/// exact-match and token-F1 rewards.
/// </summary>
public sealed class KbMultihopTask : IAgentTask
{
    public const string TaskName = "kb-multihop";
    public const string SearchTool = "kb-search";
    public const string QueryArgument = "query";
    public const string TopKArgument = "k";

    /// <summary>Metadata: template name, hop count, the queries in order and the chain of document ids ('|'-separated),
    /// and a wrong chain (queries and answer) starting from another entity, used by flawed demonstrations.</summary>
    public const string TemplateKey = "template";
    public const string HopsKey = "hops";
    public const string QueriesKey = "queries";
    public const string ChainKey = "chain";
    public const string WrongQueriesKey = "wrong_queries";
    public const string WrongAnswerKey = "wrong_answer";

    public const char Separator = '|';

    public const string DefaultSystemPrompt =
        "Answer with kb-search. Search one name at a time and follow the facts you find. Reply as <answer>name</answer>.";

    internal static readonly IReadOnlyList<string> Tools = new[] { SearchTool };

    private readonly KbMultihopOptions _options;

    public KbMultihopTask(KbMultihopOptions? options = null)
    {
        _options = options ?? new KbMultihopOptions();
        _options.Validate();
    }

    public string Name => TaskName;

    public string Description => "2-3 hop questions over a generated world of people, companies, cities and countries, answered by chaining kb-search; exact match and token F1.";

    public string SystemPrompt => _options.SystemPrompt ?? DefaultSystemPrompt;

    public IReadOnlyList<string> AllowedTools => Tools;

    public IReadOnlyList<TaskItem> Generate(TaskSplit split, int count, int seed)
    {
        var templates = KbQuestion.Templates.Where(t => t.Hops >= _options.MinHops && t.Hops <= _options.MaxHops).ToArray();
        return SplitSampler.Sample(TaskName, split, count, seed, _options.EvalModulus, rng =>
        {
            var world = KbWorld.Generate(rng, _options);
            var (template, hops, fromPerson) = templates[rng.Next(templates.Length)];
            var starts = Enumerable.Range(0, fromPerson ? world.People.Count : world.Companies.Count).ToArray();
            rng.Shuffle(starts);
            var question = KbQuestion.Create(world, template, starts[0]);
            var wrong = starts.Skip(1)
                .Select(s => KbQuestion.Create(world, template, s))
                .FirstOrDefault(q => !AnswerText.ExactMatch(q.Answer, question.Answer));
            if (wrong is null)
            {
                return null;
            }

            return new TaskCandidate(
                question.Text,
                question.Answer,
                new Dictionary<string, string>
                {
                    [TemplateKey] = template,
                    [HopsKey] = hops.ToString(CultureInfo.InvariantCulture),
                    [QueriesKey] = string.Join(Separator, question.Queries),
                    [ChainKey] = string.Join(Separator, question.ChainDocIds),
                    [WrongQueriesKey] = string.Join(Separator, wrong.Queries),
                    [WrongAnswerKey] = wrong.Answer,
                },
                world.Documents(rng));
        });
    }

    public string? Validate(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Task != TaskName)
        {
            return $"item of task '{item.Task}', expected '{TaskName}'";
        }

        var missing = new[] { HopsKey, QueriesKey, ChainKey, WrongQueriesKey, WrongAnswerKey }.Where(k => !item.Metadata.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            return $"metadata missing: {string.Join(", ", missing)}";
        }

        var queries = item.Metadata[QueriesKey].Split(Separator);
        var chain = item.Metadata[ChainKey].Split(Separator);
        if (queries.Length != chain.Length || item.Metadata[HopsKey] != chain.Length.ToString(CultureInfo.InvariantCulture))
        {
            return "queries, chain and hops disagree in length";
        }

        for (var hop = 0; hop < chain.Length; hop++)
        {
            var next = hop + 1 < chain.Length ? queries[hop + 1] : item.Answer;
            if (item.Documents.FirstOrDefault(d => d.Id == chain[hop]) is not { } doc)
            {
                return $"chain document '{chain[hop]}' is not among the item's documents";
            }

            if (!doc.Text.Contains(next, StringComparison.Ordinal))
            {
                return $"chain document '{doc.Id}' does not mention '{next}'";
            }
        }

        return null;
    }

    public TaskToolContext GetToolContext(TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new TaskToolContext(Tools, item.Documents);
    }

    public RewardResult Score(TaskItem item, FinishedConversation conversation) =>
        KbMultihopReward.Score(item, conversation, _options.Weights, _options.ScoreWithF1);

    public async Task<Demonstration> BuildDemonstrationAsync(
        TaskItem item,
        IToolExecutor tools,
        DemonstrationFlaw flaw = DemonstrationFlaw.None,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(tools);
        var wrongAnswer = item.RequireMetadata(WrongAnswerKey);
        var (queries, answer) = flaw == DemonstrationFlaw.WrongToolArgument
            ? (item.RequireMetadata(WrongQueriesKey).Split(Separator), wrongAnswer)
            : (item.RequireMetadata(QueriesKey).Split(Separator), item.Answer);

        var messages = new List<ChatMessage> { ChatMessage.System(SystemPrompt), ChatMessage.User(item.Prompt) };
        if (flaw == DemonstrationFlaw.SkipTool)
        {
            messages.Add(ChatMessage.Assistant(AnswerText.Tag(wrongAnswer)));
            return new Demonstration(item, messages, flaw, ToolResultsAgree: true);
        }

        var agree = true;
        for (var hop = 0; hop < queries.Length; hop++)
        {
            var call = new ToolCall(SearchTool, ToolArguments.Json((QueryArgument, queries[hop]), (TopKArgument, _options.SearchTopK)));
            var observation = await tools.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
            var expected = hop + 1 < queries.Length ? queries[hop + 1] : answer;
            agree &= !observation.IsError && observation.Text.Contains(expected, StringComparison.OrdinalIgnoreCase);
            messages.Add(ChatMessage.Assistant(string.Empty, call));
            messages.Add(ChatMessage.Tool(SearchTool, observation.Text));
        }

        messages.Add(ChatMessage.Assistant(flaw switch
        {
            DemonstrationFlaw.WrongFinalAnswer => AnswerText.Tag(wrongAnswer),
            DemonstrationFlaw.MissingAnswerTag => $"The answer is {answer}.",
            _ => AnswerText.Tag(answer),
        }));
        return new Demonstration(item, messages, flaw, agree);
    }
}
