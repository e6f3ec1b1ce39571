using AgentRl.Abstractions.Chat;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.KbMultihop;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class KbMultihopTaskTests
{
    private static readonly KbMultihopTask Task = new();

    private static TaskItem Item(string answer, int hops = 2) =>
        new("k-1", KbMultihopTask.TaskName, "In which city was the founder of Zulo Labs born?", answer, TaskSplit.Train,
            new Dictionary<string, string> { [KbMultihopTask.HopsKey] = hops.ToString(System.Globalization.CultureInfo.InvariantCulture) }, []);

    private static ToolCall Search(string query) => new("kb-search", $$"""{"query":"{{query}}","k":2}""");

    [Fact]
    public void Generate_SameSeed_SameItemsAndDocuments()
    {
        Assert.Equal(Task.Generate(TaskSplit.Train, 30, 7), Task.Generate(TaskSplit.Train, 30, 7));
    }

    [Fact]
    public void Generate_DifferentSeeds_DifferentItems()
    {
        Assert.Empty(Task.Generate(TaskSplit.Train, 30, 7).Select(i => i.Prompt).Intersect(Task.Generate(TaskSplit.Train, 30, 8).Select(i => i.Prompt)));
    }

    [Fact]
    public void Generate_TrainAndEval_NeverShareAQuestion()
    {
        var train = Task.Generate(TaskSplit.Train, 200, 1).Select(i => i.Prompt);
        var eval = Task.Generate(TaskSplit.Eval, 60, 1).Concat(Task.Generate(TaskSplit.Eval, 60, 2)).Select(i => i.Prompt);
        Assert.Empty(train.Intersect(eval));
    }

    [Fact]
    public async Task Generate_Questions_AnswerableByChainingTheDocuments()
    {
        var items = Task.Generate(TaskSplit.Train, 200, 3);
        Assert.Contains(items, i => i.Metadata[KbMultihopTask.HopsKey] == "2");
        Assert.Contains(items, i => i.Metadata[KbMultihopTask.HopsKey] == "3");
        foreach (var item in items)
        {
            var docs = item.Documents.ToDictionary(d => d.Id);
            Assert.Equal(item.Documents.Count, item.Documents.Select(d => d.Title).Distinct().Count());
            var queries = item.Metadata[KbMultihopTask.QueriesKey].Split('|');
            var chain = item.Metadata[KbMultihopTask.ChainKey].Split('|');
            Assert.Equal(queries.Length, chain.Length);
            Assert.Equal(int.Parse(item.Metadata[KbMultihopTask.HopsKey], System.Globalization.CultureInfo.InvariantCulture), chain.Length);
            Assert.Contains(queries[0], item.Prompt, StringComparison.Ordinal);
            Assert.DoesNotContain(item.Answer, item.Prompt, StringComparison.Ordinal);
            var search = new LocalKbSearch(item.Documents);
            for (var hop = 0; hop < chain.Length; hop++)
            {
                var doc = docs[chain[hop]];
                Assert.Equal(queries[hop], doc.Title);
                var next = hop + 1 < chain.Length ? queries[hop + 1] : item.Answer;
                Assert.Contains(next, doc.Text, StringComparison.Ordinal);

                // The document that carries the hop is among the top 2 of a search for the hop's query.
                var found = await search.ExecuteAsync(Search(queries[hop]));
                Assert.Contains(doc.Text, found.Text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Generate_ThreeHopOnly_EveryQuestionNeedsThreeSearches()
    {
        var hard = new KbMultihopTask(new KbMultihopOptions { MinHops = 3, MaxHops = 3, People = 6, Cities = 6 });
        var items = hard.Generate(TaskSplit.Eval, 30, 4);
        Assert.All(items, i => Assert.Equal(3, i.Metadata[KbMultihopTask.ChainKey].Split('|').Length));
        Assert.All(items, i => Assert.Equal(6 + 3 + 6, i.Documents.Count));
    }

    [Fact]
    public void Reward_CorrectAnswerAfterBothHops_FullScore()
    {
        var r = Task.Score(Item("Velmora"), new FinishedConversation("<answer>Velmora</answer>", [Search("Zulo Labs"), Search("Mira Tolsk")]));
        Assert.Equal(1.0, r.Score, 9);
        Assert.Equal(1.0, r.Parts[RewardParts.Correctness]);
        Assert.Equal(1.0, r.Parts[RewardParts.F1]);
    }

    [Fact]
    public void Reward_ArticlesCaseAndPunctuation_StillExactMatch()
    {
        var r = Task.Score(Item("Velmora"), new FinishedConversation("<answer>The velmora.</answer>", [Search("a"), Search("b")]));
        Assert.Equal(1.0, r.Parts[RewardParts.Correctness]);
    }

    [Fact]
    public void Reward_PartiallyCorrect_F1BetweenZeroAndOne()
    {
        var r = Task.Score(Item("Port Velmora"), new FinishedConversation("<answer>Velmora</answer>", [Search("a"), Search("b")]));
        Assert.Equal(0.0, r.Parts[RewardParts.Correctness]);
        Assert.Equal(2.0 / 3.0, r.Parts[RewardParts.F1], 9);
        Assert.Equal((0.8 * 2.0 / 3.0) + 0.2, r.Score, 9);
        var exactOnly = new KbMultihopTask(new KbMultihopOptions { ScoreWithF1 = false });
        Assert.Equal(0.2, exactOnly.Score(Item("Port Velmora"), new FinishedConversation("<answer>Velmora</answer>", [Search("a"), Search("b")])).Score, 9);
    }

    [Fact]
    public void Reward_WrongAnswerOneSearchOfTwo_HalfToolUse()
    {
        var r = Task.Score(Item("Velmora"), new FinishedConversation("<answer>Drassland</answer>", [Search("Zulo Labs")]));
        Assert.Equal(0.0, r.Parts[RewardParts.F1]);
        Assert.Equal(0.5, r.Parts[RewardParts.ToolUse]);
        Assert.Equal(0.15, r.Score, 9);
    }

    [Fact]
    public void Reward_MissingAnswerTag_ZeroF1AndFormat()
    {
        var r = Task.Score(Item("Velmora"), new FinishedConversation("Velmora", [Search("a"), Search("b")]));
        Assert.Equal(0.0, r.Parts[RewardParts.F1]);
        Assert.Equal(0.0, r.Parts[RewardParts.Format]);
        Assert.Equal(0.1, r.Score, 9);
    }

    [Fact]
    public async Task Demonstrations_Gold_ChainSearchesAndScoreFullReward()
    {
        var items = Task.Generate(TaskSplit.Train, 20, 5);
        var demos = await DemonstrationGenerator.GenerateAsync(Task, items, ctx => new LocalKbSearch(ctx.Documents));
        foreach (var demo in demos)
        {
            var hops = demo.Item.Metadata[KbMultihopTask.ChainKey].Split('|').Length;
            Assert.True(demo.ToolResultsAgree);
            Assert.Equal(hops, demo.Messages.Count(m => m.Role == ChatRole.Tool));
            Assert.Equal(2 + (2 * hops) + 1, demo.Messages.Count);
            Assert.Equal(1.0, Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Score, 9);
        }
    }

    [Fact]
    public async Task Demonstrations_Flawed_ScoreLess()
    {
        var items = Task.Generate(TaskSplit.Train, 30, 6);
        var options = new DemonstrationOptions { FlawedFraction = 1.0, Seed = 1 };
        var demos = await DemonstrationGenerator.GenerateAsync(Task, items, ctx => new LocalKbSearch(ctx.Documents), options);
        Assert.All(demos, d => Assert.NotEqual(DemonstrationFlaw.None, d.Flaw));
        Assert.All(demos, d => Assert.True(Task.Score(d.Item, FinishedConversation.FromMessages(d.Messages)).Score < 0.5, d.Flaw.ToString()));
        var wrongArgument = demos.First(d => d.Flaw == DemonstrationFlaw.WrongToolArgument);
        Assert.True(wrongArgument.ToolResultsAgree);
        Assert.NotEqual(wrongArgument.Item.Metadata[KbMultihopTask.QueriesKey].Split('|')[0], ToolCallChecks.TryGetString(wrongArgument.Messages[2].ToolCalls![0].ArgumentsJson, "query"));
    }

    [Fact]
    public async Task Demonstrations_SkipTool_NoSearchAndTheWrongAnswer()
    {
        var item = Task.Generate(TaskSplit.Train, 1, 6)[0];
        var demo = await Task.BuildDemonstrationAsync(item, new LocalKbSearch([]), DemonstrationFlaw.SkipTool);
        Assert.Equal(3, demo.Messages.Count);
        Assert.Null(demo.Messages[2].ToolCalls);
        Assert.Equal(AnswerText.Tag(item.Metadata[KbMultihopTask.WrongAnswerKey]), demo.Messages[2].Content);
        Assert.Equal(0.0, Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Parts[RewardParts.Correctness]);
    }
}
