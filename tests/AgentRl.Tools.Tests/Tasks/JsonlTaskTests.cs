using AgentRl.Abstractions.Chat;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Jsonl;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

/// <summary>The <c>jsonl</c> dataset task: loading and its reports, splits, rewards, demonstrations and the file cache.</summary>
public sealed class JsonlTaskTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("agentrl-jsonl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    private static IAgentTask Create(params (string Key, string Value)[] options) =>
        TaskRegistry.CreateDefault().Create(JsonlTask.TaskName, options.ToDictionary(o => o.Key, o => o.Value));

    private static FinishedConversation Answer(string answer, params ToolCall[] calls) => new(AnswerText.Tag(answer), calls);

    private static TaskItem Item(string answer) => new("jsonl-1", JsonlTask.TaskName, "q", answer, TaskSplit.Train, new Dictionary<string, string>(), []);

    private static string Lines(int count, Func<int, string> line) => string.Join('\n', Enumerable.Range(0, count).Select(line));

    [Fact]
    public void Create_ItemsFromTheFile_WithTheirFieldsAndAStableId()
    {
        var path = File("data.jsonl",
            """{"prompt": "Capital of France?", "answer": "Paris", "metadata": {"source": "atlas", "page": 12}, "split": "train"}""",
            "",
            """{"prompt": "6 * 7?", "answer": 42, "split": "eval", "id": "q-42"}""");

        var task = Create(("path", path));

        var train = Assert.Single(task.Generate(TaskSplit.Train, 10, 0));
        Assert.Equal(("Capital of France?", "Paris", "jsonl"), (train.Prompt, train.Answer, train.Task));
        Assert.Equal("atlas", train.Metadata["source"]);
        Assert.Equal("12", train.Metadata["page"]);
        Assert.Matches("^jsonl-[0-9a-f]{16}$", train.Id);
        Assert.Equal(train.Id, Create(("path", path)).Generate(TaskSplit.Train, 1, 5)[0].Id);
        var eval = Assert.Single(task.Generate(TaskSplit.Eval, 10, 0));
        Assert.Equal(("q-42", "42", TaskSplit.Eval), (eval.Id, eval.Answer, eval.Split));
        Assert.Empty(task.AllowedTools);
        Assert.Equal(JsonlTask.DefaultSystemPrompt, task.SystemPrompt);
    }

    [Fact]
    public void Create_BadLines_EachReportedWithItsFileAndLineNumber()
    {
        var path = File("bad.jsonl",
            """{"prompt": "ok", "answer": "fine"}""",
            """{"prompt": "no answer"}""",
            """{"prompt": "broken", "answer": """,
            """{"prompt": "typo", "anwser": "x"}""",
            """{"prompt": "odd split", "answer": "x", "split": "test"}""");

        var e = Assert.Throws<ArgumentException>(() => Create(("path", path)));

        Assert.Contains("4 problem(s) in the data", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{path} line 2: \"answer\" is missing", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{path} line 3: invalid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{path} line 4: unknown field \"anwser\" in an item; known: prompt, answer, metadata, split, id, documents. Did you mean 'answer'?", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{path} line 5: \"split\" must be \"train\" or \"eval\", got \"test\"", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line 1:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_EmptyAnswer_RefusedNamingItsLine()
    {
        var path = File("empty.jsonl", """{"prompt": "a", "answer": "Alpha"}""", """{"prompt": "b", "answer": "  "}""");

        var e = Assert.Throws<ArgumentException>(() => Create(("path", path)));

        Assert.Contains($"{path} line 2: \"answer\" is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_AnswersTheRewardCannotUse_Refused()
    {
        var numbers = File("numbers.jsonl", """{"prompt": "a", "answer": "12.5"}""", """{"prompt": "b", "answer": "twelve"}""");
        var patterns = File("patterns.jsonl", """{"prompt": "a", "answer": "ab+c"}""", """{"prompt": "b", "answer": "(unclosed"}""");
        var words = File("words.jsonl", """{"prompt": "a", "answer": "The"}""");

        Assert.Contains($"{numbers} line 2: answer 'twelve' is not a number (reward=numeric)", Assert.Throws<ArgumentException>(() => Create(("path", numbers), ("reward", "numeric"))).Message, StringComparison.Ordinal);
        Assert.Contains($"{patterns} line 2: answer '(unclosed' is not a valid regular expression", Assert.Throws<ArgumentException>(() => Create(("path", patterns), ("reward", "regex"))).Message, StringComparison.Ordinal);
        Assert.Contains($"{words} line 1: answer 'The' is empty after normalisation", Assert.Throws<ArgumentException>(() => Create(("path", words))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_MissingPathOrFileOrUnknownReward_ClearErrors()
    {
        Assert.Contains("taskOptions of task 'jsonl': path is required", Assert.Throws<ArgumentException>(() => Create()).Message, StringComparison.Ordinal);
        var missing = Path.Combine(_dir, "nope.jsonl");
        Assert.Contains($"taskOptions.path: file '{missing}' not found", Assert.Throws<ArgumentException>(() => Create(("path", missing))).Message, StringComparison.Ordinal);
        var path = File("one.jsonl", """{"prompt": "a", "answer": "Alpha"}""");
        Assert.Contains("reward 'exakt' is not known; expected one of exact, numeric, f1, regex, contains. Did you mean 'exact'?", Assert.Throws<ArgumentException>(() => Create(("path", path), ("reward", "exakt"))).Message, StringComparison.Ordinal);
        Assert.Contains("tolerance must be a finite number >= 0", Assert.Throws<ArgumentException>(() => Create(("path", path), ("tolerance", "-1"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_DuplicatePrompts_AndOnlyEvalItems_Refused()
    {
        var duplicate = File("dup.jsonl", """{"prompt": "a", "answer": "Alpha"}""", """{"prompt": "a", "answer": "Beta"}""");
        var evalOnly = File("eval.jsonl", """{"prompt": "a", "answer": "Alpha", "split": "eval"}""");

        Assert.Contains($"{duplicate} line 2: the same prompt as {duplicate} line 1", Assert.Throws<ArgumentException>(() => Create(("path", duplicate))).Message, StringComparison.Ordinal);
        Assert.Contains("no train items among the 1 read", Assert.Throws<ArgumentException>(() => Create(("path", evalOnly))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_WithoutAField_IsTheStableHashOfThePrompt()
    {
        var path = File("many.jsonl", Lines(200, i => $$"""{"prompt": "question {{i}}", "answer": "answer {{i}}"}"""));

        var task = Create(("path", path), ("evalModulus", "4"));
        var train = task.Generate(TaskSplit.Train, 1000, 0);
        var eval = task.Generate(TaskSplit.Eval, 1000, 0);

        Assert.Equal(200, train.Count + eval.Count);
        Assert.InRange(eval.Count, 30, 70);
        Assert.Empty(train.Select(i => i.Prompt).Intersect(eval.Select(i => i.Prompt)));
        Assert.All(eval, i => Assert.Equal(0UL, AgentRl.Tasks.Data.TaskHash.Of("jsonl\n" + i.Prompt) % 4));

        // Up to the count asked for, distinct, in a seeded order.
        var five = task.Generate(TaskSplit.Train, 5, 3);
        Assert.Equal(5, five.Select(i => i.Id).Distinct().Count());
        Assert.Equal(five, task.Generate(TaskSplit.Train, 5, 3));
        Assert.NotEqual(five, task.Generate(TaskSplit.Train, 5, 4));
    }

    [Fact]
    public void Split_WithEvalPath_PathLinesAreTrainAndEvalPathLinesEval()
    {
        var train = File("train.jsonl", Lines(20, i => $$"""{"prompt": "t{{i}}", "answer": "a{{i}}"}"""));
        var eval = File("eval.jsonl", """{"prompt": "e1", "answer": "x"}""", """{"prompt": "e2", "answer": "y", "split": "eval"}""");
        var wrong = File("wrong.jsonl", """{"prompt": "e3", "answer": "z", "split": "train"}""");

        var task = Create(("path", train), ("evalPath", eval));

        Assert.Equal(20, task.Generate(TaskSplit.Train, 100, 0).Count);
        Assert.Equal(["e1", "e2"], task.Generate(TaskSplit.Eval, 100, 0).Select(i => i.Prompt).Order());
        Assert.Contains($"{wrong} line 1: \"split\" is \"train\" in a file of taskOptions.evalPath", Assert.Throws<ArgumentException>(() => Create(("path", train), ("evalPath", $"{eval},{wrong}"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reward_Exact_MatchesAfterNormalisation()
    {
        var weights = new RewardWeights(0.8, 0.1, 0.1);
        Assert.Equal(1.0, JsonlRewards.Score(Item("The Eiffel Tower"), Answer("eiffel tower!"), JsonlRewards.Exact, weights, []).Score, 9);
        var wrong = JsonlRewards.Score(Item("Paris"), Answer("Lyon"), JsonlRewards.Exact, weights, []);
        Assert.Equal(0.2, wrong.Score, 9);
        Assert.Equal(0.0, wrong.Parts[RewardParts.Correctness]);
        var untagged = JsonlRewards.Score(Item("Paris"), new FinishedConversation("Paris", []), JsonlRewards.Exact, weights, []);
        Assert.Equal((0.0, 0.0, 1.0), (untagged.Parts[RewardParts.Correctness], untagged.Parts[RewardParts.Format], untagged.Parts[RewardParts.ToolUse]));
    }

    [Fact]
    public void Reward_Numeric_WithinTheAbsoluteOrRelativeTolerance()
    {
        Assert.True(JsonlRewards.Correct(JsonlRewards.Numeric, "1,250", "1250"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Numeric, " +3.0 ", "3"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Numeric, "2.5e2", "250"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Numeric, "3.001", "3"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Numeric, "3.001", "3", tolerance: 0.01));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Numeric, "3.1", "3", tolerance: 0.01));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Numeric, "1010", "1000", tolerance: 0, relativeTolerance: 0.01));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Numeric, "1011", "1000", tolerance: 0, relativeTolerance: 0.01));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Numeric, "about 3", "3"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Numeric, "NaN", "3"));

        var path = File("n.jsonl", """{"prompt": "pi?", "answer": "3.14159"}""");
        var task = Create(("path", path), ("reward", "numeric"), ("tolerance", "0.01"));
        var item = task.Generate(TaskSplit.Train, 1, 0)[0];
        Assert.Equal(1.0, task.Score(item, Answer("3.14")).Parts[RewardParts.Correctness]);
        Assert.Equal(0.0, task.Score(item, Answer("3.1")).Parts[RewardParts.Correctness]);
    }

    [Fact]
    public void Reward_F1_TheCorrectnessWeightMultipliesTokenF1()
    {
        var result = JsonlRewards.Score(Item("New York City"), Answer("new york"), JsonlRewards.F1, new RewardWeights(1, 0, 0), []);

        // precision 2/2, recall 2/3: F1 = 0.8; not an exact match.
        Assert.Equal(0.8, result.Parts[RewardParts.F1], 9);
        Assert.Equal(0.0, result.Parts[RewardParts.Correctness]);
        Assert.Equal(0.8, result.Score, 9);
        Assert.Equal(1.0, JsonlRewards.Score(Item("New York City"), Answer("new york city"), JsonlRewards.F1, new RewardWeights(1, 0, 0), []).Score, 9);
    }

    [Fact]
    public void Reward_Regex_MustMatchTheWholeFinalAnswer()
    {
        Assert.True(JsonlRewards.Correct(JsonlRewards.Regex, "2024-05-01", @"\d{4}-\d{2}-\d{2}"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Regex, "on 2024-05-01", @"\d{4}-\d{2}-\d{2}"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Regex, "colour", "colou?r|hue"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Regex, "hue", "colou?r|hue"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Regex, "colours", "colou?r|hue"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Regex, "Hue", "colou?r|hue"));
    }

    [Fact]
    public void Reward_Contains_TheAnswerAsWholeWordsOfTheFinalAnswer()
    {
        Assert.True(JsonlRewards.Correct(JsonlRewards.Contains, "It is in Paris, France.", "paris"));
        Assert.True(JsonlRewards.Correct(JsonlRewards.Contains, "the city of New York", "New York"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Contains, "York, New", "New York"));
        Assert.False(JsonlRewards.Correct(JsonlRewards.Contains, "comparison", "paris"));
    }

    [Fact]
    public void Reward_ToolUse_AnAllowedCallWithObjectArguments_AndNoOtherTool()
    {
        var weights = new RewardWeights(0, 0, 1);
        IReadOnlyList<string> allowed = ["calculator-evaluate"];
        var good = new ToolCall("calculator-evaluate", """{"expression":"2+2"}""");
        Assert.Equal(1.0, JsonlRewards.Score(Item("4"), Answer("4", good), JsonlRewards.Exact, weights, allowed).Score);
        Assert.Equal(0.0, JsonlRewards.Score(Item("4"), Answer("4"), JsonlRewards.Exact, weights, allowed).Score);
        Assert.Equal(0.0, JsonlRewards.Score(Item("4"), Answer("4", new ToolCall("calculator-evaluate", "2+2")), JsonlRewards.Exact, weights, allowed).Score);
        Assert.Equal(0.0, JsonlRewards.Score(Item("4"), Answer("4", good, new ToolCall("python-run", """{"code":"print(4)"}""")), JsonlRewards.Exact, weights, allowed).Score);

        // No tools allowed: any call loses the part.
        Assert.Equal(1.0, JsonlRewards.Score(Item("4"), Answer("4"), JsonlRewards.Exact, weights, []).Score);
        Assert.Equal(0.0, JsonlRewards.Score(Item("4"), Answer("4", good), JsonlRewards.Exact, weights, []).Score);
    }

    [Fact]
    public async Task Demonstration_WithoutToolsOrGold_IsADirectAnswer_AndFlawsAreWrongOrUntagged()
    {
        var path = File("d.jsonl", """{"prompt": "Capital of France?", "answer": "Paris"}""", """{"prompt": "Capital of Italy?", "answer": "Rome", "split": "train"}""");
        var task = Create(("path", path), ("systemPrompt", "Be brief."));
        var item = task.Generate(TaskSplit.Train, 10, 0).Single(i => i.Answer == "Paris");

        var gold = await task.BuildDemonstrationAsync(item, new LocalCalculator());

        Assert.Null(task.WarmStartProblem);
        Assert.Equal(
            [ChatMessage.System("Be brief."), ChatMessage.User("Capital of France?"), ChatMessage.Assistant("<answer>Paris</answer>")],
            gold.Messages);
        Assert.Equal(1.0, task.Score(item, FinishedConversation.FromMessages(gold.Messages)).Parts[RewardParts.Correctness]);
        Assert.Equal("<answer>Rome</answer>", (await task.BuildDemonstrationAsync(item, new LocalCalculator(), DemonstrationFlaw.SkipTool)).Messages[^1].Content);
        Assert.Equal("<answer>Rome</answer>", (await task.BuildDemonstrationAsync(item, new LocalCalculator(), DemonstrationFlaw.WrongFinalAnswer)).Messages[^1].Content);
        Assert.Equal("The answer is Paris.", (await task.BuildDemonstrationAsync(item, new LocalCalculator(), DemonstrationFlaw.MissingAnswerTag)).Messages[^1].Content);
    }

    [Fact]
    public async Task Demonstration_GoldConversation_WrittenObservationsKept_MissingOnesFromTheTool()
    {
        var path = File("calc.jsonl", """{"prompt": "Convert 3 km to m", "answer": "3000"}""", """{"prompt": "Convert 2 h to min", "answer": "120"}""");
        var demonstrations = File("gold.jsonl",
            """{"prompt": "Convert 3 km to m", "messages": [{"role": "assistant", "content": "", "toolCalls": [{"name": "calculator-evaluate", "arguments": {"expression": "3*1000"}}]}, {"role": "tool", "name": "calculator-evaluate", "content": "3000"}, {"role": "assistant", "content": "<answer>3000</answer>"}]}""",
            """{"prompt": "Convert 2 h to min", "messages": [{"role": "assistant", "toolCalls": [{"name": "calculator-evaluate", "arguments": "{\"expression\":\"2*60\"}"}]}, {"role": "tool", "name": "calculator-evaluate"}, {"role": "assistant", "content": "<answer>120</answer>"}]}""");
        var task = Create(("path", path), ("tools", "calculator-evaluate"), ("demonstrations", demonstrations), ("systemPrompt", ""));
        var items = task.Generate(TaskSplit.Train, 10, 0).ToDictionary(i => i.Answer);
        var calculator = new LocalCalculator();

        var written = await task.BuildDemonstrationAsync(items["3000"], calculator);
        var called = await task.BuildDemonstrationAsync(items["120"], calculator);

        Assert.Null(task.WarmStartProblem);
        Assert.Equal(["calculator-evaluate"], task.AllowedTools);
        Assert.Equal(
            [
                ChatMessage.System(""), ChatMessage.User("Convert 3 km to m"),
                ChatMessage.Assistant("", new ToolCall("calculator-evaluate", """{"expression":"3*1000"}""")),
                ChatMessage.Tool("calculator-evaluate", "3000"), ChatMessage.Assistant("<answer>3000</answer>"),
            ],
            written.Messages,
            new MessageComparer());
        Assert.Equal("120", called.Messages[3].Content);   // filled by calling the tool
        Assert.Equal(["2*60"], calculator.Calls.Select(c => System.Text.Json.JsonDocument.Parse(c.ArgumentsJson).RootElement.GetProperty("expression").GetString()));
        Assert.True(called.ToolResultsAgree);
        Assert.Equal(1.0, task.Score(items["3000"], FinishedConversation.FromMessages(written.Messages)).Score, 9);
        var skipped = await task.BuildDemonstrationAsync(items["3000"], calculator, DemonstrationFlaw.SkipTool);
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], skipped.Messages.Select(m => m.Role));
        Assert.Equal("<answer>120</answer>", skipped.Messages[^1].Content);
    }

    [Fact]
    public async Task Demonstration_ToolsWithoutGold_WarmStartUnavailableAndSaysWhy()
    {
        var path = File("t.jsonl", """{"prompt": "Convert 3 km to m", "answer": "3000"}""", """{"prompt": "Convert 2 h to min", "answer": "120"}""");
        var task = Create(("path", path), ("tools", "calculator-evaluate"));

        Assert.Contains("the warm start is unavailable: with taskOptions.tools set, a direct answer would teach the model to skip its tools", task.WarmStartProblem, StringComparison.Ordinal);
        Assert.Contains("sftDemonstrations=0", task.WarmStartProblem, StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => task.BuildDemonstrationAsync(task.Generate(TaskSplit.Train, 1, 0)[0], new LocalCalculator()));
        Assert.Contains("has no gold conversation", e.Message, StringComparison.Ordinal);

        var partial = File("partial.jsonl", """{"prompt": "Convert 3 km to m", "messages": [{"role": "assistant", "content": "<answer>3000</answer>"}]}""");
        Assert.Contains($"1 of 2 have none in {partial} (the first: {path} line 2)", Create(("path", path), ("tools", "calculator-evaluate"), ("demonstrations", partial)).WarmStartProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Demonstrations_BadConversations_EachReportedWithItsLine()
    {
        var path = File("p.jsonl", """{"prompt": "Convert 3 km to m", "answer": "3000"}""", """{"prompt": "Convert 2 h to min", "answer": "120"}""");
        var demonstrations = File("bad-gold.jsonl",
            """{"prompt": "Convert 3 km to m", "messages": [{"role": "assistant", "toolCalls": [{"name": "python-run", "arguments": {"code": "print(3000)"}}]}, {"role": "tool", "name": "python-run", "content": "3000"}, {"role": "assistant", "content": "<answer>3000</answer>"}]}""",
            """{"prompt": "Convert 2 h to min", "messages": [{"role": "assistant", "content": "<answer>121</answer>"}]}""",
            """{"prompt": "Convert 9 kg to g", "messages": [{"role": "assistant", "content": "<answer>9000</answer>"}]}""",
            """{"prompt": "Convert 2 h to min", "messages": [{"role": "user", "content": "hi"}]}""",
            """{"prompt": "Convert 2 h to min", "messages": [{"role": "assistant", "toolCalls": [{"name": "calculator-evaluate", "arguments": {"expression": "2*60"}}]}, {"role": "assistant", "content": "<answer>120</answer>"}]}""");

        var e = Assert.Throws<ArgumentException>(() => Create(("path", path), ("tools", "calculator-evaluate"), ("demonstrations", demonstrations)));

        Assert.Contains($"{demonstrations} line 1: calls 'python-run', which taskOptions.tools does not allow (calculator-evaluate)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{demonstrations} line 2: the final answer '121' is not correct for the item's answer '120'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{demonstrations} line 3: no item of taskOptions.path or evalPath has this prompt", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{demonstrations} line 4: message 1: role must be \"assistant\" or \"tool\"", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{demonstrations} line 5: message 2: the tool call(s) calculator-evaluate of an earlier assistant turn have no tool turn", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_CachedByModificationTime_ReReadWhenItChanges()
    {
        var path = File("cached.jsonl", """{"prompt": "a", "answer": "one"}""");
        var stamp = System.IO.File.GetLastWriteTimeUtc(path);
        var task = Create(("path", path));

        // The same length and modification time: the parse in the cache stands, for this task and for a new one.
        System.IO.File.WriteAllText(path, """{"prompt": "a", "answer": "two"}""" + "\n");
        System.IO.File.SetLastWriteTimeUtc(path, stamp);
        Assert.Equal("one", task.Generate(TaskSplit.Train, 1, 0)[0].Answer);
        Assert.Equal("one", Create(("path", path)).Generate(TaskSplit.Train, 1, 0)[0].Answer);

        System.IO.File.SetLastWriteTimeUtc(path, stamp.AddSeconds(5));
        Assert.Equal("two", task.Generate(TaskSplit.Train, 1, 0)[0].Answer);
        Assert.Equal("two", Create(("path", path)).Generate(TaskSplit.Train, 1, 0)[0].Answer);
    }

    [Fact]
    public void Validate_ItemsFromElsewhere_CheckedAgainstTheReward()
    {
        var path = File("v.jsonl", """{"prompt": "a", "answer": "1"}""");
        var task = Create(("path", path), ("reward", "numeric"));

        Assert.Null(task.Validate(Item("2.5")));
        Assert.Contains("not a number", task.Validate(Item("two")), StringComparison.Ordinal);
        Assert.Contains("expected 'jsonl'", task.Validate(Item("1") with { Task = "arithmetic" }), StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_OptionsTable_ListsEveryJsonlOption()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!System.IO.File.Exists(Path.Combine(root.FullName, "AgentRl.sln")))
        {
            root = root.Parent!;
        }

        var readme = System.IO.File.ReadAllText(Path.Combine(root.FullName, "src", "Tasks", "README.md"));
        var section = readme[readme.IndexOf("## jsonl", StringComparison.Ordinal)..readme.IndexOf("**Data lines**", StringComparison.Ordinal)];
        var documented = System.Text.RegularExpressions.Regex.Matches(section, @"^\| (.+?) \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .SelectMany(m => System.Text.RegularExpressions.Regex.Matches(m.Groups[1].Value, "`([^`]+)`").Select(n => n.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

        var options = TaskRegistry.CreateDefault().Info(JsonlTask.TaskName).OptionDefaults.Keys;

        var missing = options.Where(o => !documented.Contains(o)).ToList();
        Assert.True(missing.Count == 0, "src/Tasks/README.md's jsonl table lacks: " + string.Join(", ", missing));
        Assert.Contains("relativeTolerance", documented);
    }

    /// <summary>Messages by role, content, tool name and calls (records compare lists by reference).</summary>
    private sealed class MessageComparer : IEqualityComparer<ChatMessage>
    {
        public bool Equals(ChatMessage? x, ChatMessage? y) =>
            x is not null && y is not null && x.Role == y.Role && x.Content == y.Content && x.ToolName == y.ToolName
            && (x.ToolCalls ?? []).SequenceEqual(y.ToolCalls ?? []);

        public int GetHashCode(ChatMessage obj) => HashCode.Combine(obj.Role, obj.Content);
    }
}
