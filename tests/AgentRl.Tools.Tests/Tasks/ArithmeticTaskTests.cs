using System.Text.RegularExpressions;
using AgentRl.Abstractions.Chat;
using AgentRl.Tasks;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class ArithmeticTaskTests
{
    private static readonly ArithmeticTask Task = new();

    /// <summary>The task with a gold teacher (no questions answered from memory).</summary>
    private static readonly ArithmeticTask Gold = new(new ArithmeticOptions { TeacherMentalShare = 0 });

    private static TaskItem Item(string expression, string answer) =>
        new("a-1", ArithmeticTask.TaskName, "Compute " + expression, answer, TaskSplit.Train,
            new Dictionary<string, string> { [ArithmeticTask.ExpressionKey] = expression }, []);

    private static FinishedConversation Conversation(string final, params ToolCall[] calls) => new(final, calls);

    private static readonly ToolCall GoodCall = new("calculator-evaluate", """{"expression":"(12 + 30) * 2"}""");

    [Fact]
    public void Generate_SameSeed_SameItems()
    {
        Assert.Equal(Task.Generate(TaskSplit.Train, 50, 7), Task.Generate(TaskSplit.Train, 50, 7));
    }

    [Fact]
    public void Generate_DifferentSeeds_DifferentItems()
    {
        var a = Task.Generate(TaskSplit.Train, 50, 7).Select(i => i.Prompt);
        var b = Task.Generate(TaskSplit.Train, 50, 8).Select(i => i.Prompt);
        Assert.True(a.Intersect(b).Count() < 5);
    }

    [Fact]
    public void Generate_TrainAndEval_NeverShareAProblem()
    {
        var train = Task.Generate(TaskSplit.Train, 400, 1);
        var eval = Task.Generate(TaskSplit.Eval, 100, 1).Concat(Task.Generate(TaskSplit.Eval, 100, 2)).ToList();
        Assert.All(train, i => Assert.Equal(TaskSplit.Train, i.Split));
        Assert.All(eval, i => Assert.Equal(TaskSplit.Eval, i.Split));
        Assert.Empty(train.Select(i => i.Prompt).Intersect(eval.Select(i => i.Prompt)));
        Assert.Equal(400, train.Select(i => i.Id).Distinct().Count());
    }

    [Fact]
    public void Generate_Answers_EqualIndependentEvaluation()
    {
        foreach (var item in Task.Generate(TaskSplit.Train, 300, 3))
        {
            var expression = item.Metadata[ArithmeticTask.ExpressionKey];
            Assert.Equal(item.Answer, LocalCalculator.Evaluate(expression).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("Compute " + expression, item.Prompt);
            Assert.Single(Regex.Matches(expression, @" [-+*/] "));

            // Two-digit operands by default; an exact division may need a shorter divisor (35 / 7).
            Assert.All(Regex.Matches(expression, @"\d+"), m => Assert.InRange(int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture), 1, 99));
            Assert.InRange(int.Parse(Regex.Match(expression, @"^\d+").Value, System.Globalization.CultureInfo.InvariantCulture), 10, 99);
        }
    }

    [Fact]
    public void Generate_ManyItems_UseEveryOperatorAndParentheses()
    {
        var harder = new ArithmeticTask(new ArithmeticOptions { MaxOperations = 3, MaxDigits = 3 });
        var text = string.Concat(harder.Generate(TaskSplit.Train, 200, 4).Select(i => i.Metadata[ArithmeticTask.ExpressionKey]));
        Assert.Contains(" / ", text, StringComparison.Ordinal);
        Assert.Contains(" * ", text, StringComparison.Ordinal);
        Assert.Contains(" - ", text, StringComparison.Ordinal);
        Assert.Contains(" + ", text, StringComparison.Ordinal);
        Assert.Contains("(", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_EasyOptions_TwoOperationsOnTwoDigitNumbers()
    {
        var easy = new ArithmeticTask(new ArithmeticOptions { MinOperations = 2, MaxOperations = 2, MinDigits = 2, MaxDigits = 2, AllowDivision = false });
        foreach (var item in easy.Generate(TaskSplit.Eval, 100, 5))
        {
            var expression = item.Metadata[ArithmeticTask.ExpressionKey];
            Assert.Equal(2, Regex.Matches(expression, @" [-+*] ").Count);
            Assert.DoesNotContain("/", expression, StringComparison.Ordinal);
            Assert.All(Regex.Matches(expression, @"\d+"), m => Assert.InRange(int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture), 10, 99));
        }
    }

    [Fact]
    public void Evaluate_PrecedenceParenthesesAndExactDivision_AsWritten()
    {
        Assert.Equal(84, ArithmeticExpression.Evaluate("(12 + 30) * 2"));
        Assert.Equal(72, ArithmeticExpression.Evaluate("12 + 30 * 2"));
        Assert.Equal(-1, ArithmeticExpression.Evaluate("10 - (5 + 6)"));
        Assert.Equal(21, ArithmeticExpression.Evaluate("84 / 2 / 2"));
        Assert.Throws<ArithmeticException>(() => ArithmeticExpression.Evaluate("7 / 2"));
        Assert.Throws<FormatException>(() => ArithmeticExpression.Evaluate("7 +"));
    }

    [Fact]
    public void Reward_CorrectTaggedAnswerWithTool_FullScore()
    {
        var r = Task.Score(Item("(12 + 30) * 2", "84"), Conversation("So <answer>84</answer>", GoodCall));
        Assert.Equal(1.0, r.Score, 9);
        Assert.Equal(1.0, r.Parts[RewardParts.Correctness]);
        Assert.Equal(1.0, r.Parts[RewardParts.Format]);
        Assert.Equal(1.0, r.Parts[RewardParts.ToolUse]);
    }

    [Fact]
    public void Reward_WrongAnswer_OnlyFormatAndToolUse()
    {
        var r = Task.Score(Item("(12 + 30) * 2", "84"), Conversation("<answer>85</answer>", GoodCall));
        Assert.Equal(0.0, r.Parts[RewardParts.Correctness]);
        Assert.Equal(0.2, r.Score, 9);
    }

    [Fact]
    public void Reward_MissingAnswerTag_NoCorrectnessNoFormat()
    {
        var r = Task.Score(Item("(12 + 30) * 2", "84"), Conversation("The answer is 84.", GoodCall));
        Assert.Equal(0.0, r.Parts[RewardParts.Correctness]);
        Assert.Equal(0.0, r.Parts[RewardParts.Format]);
        Assert.Equal(0.1, r.Score, 9);
    }

    [Theory]
    [InlineData("<answer>84</answer><answer>84</answer>", 1.0, 0.0)]
    [InlineData("<answer>84", 0.0, 0.0)]
    [InlineData("<answer></answer> 84", 0.0, 0.0)]
    [InlineData("<answer> 84. </answer>", 1.0, 1.0)]
    [InlineData("<answer>eighty-four</answer>", 0.0, 1.0)]
    public void Reward_BadlyFormattedAnswers_ScoredPartByPart(string final, double correctness, double format)
    {
        var r = Task.Score(Item("(12 + 30) * 2", "84"), Conversation(final, GoodCall));
        Assert.Equal(correctness, r.Parts[RewardParts.Correctness]);
        Assert.Equal(format, r.Parts[RewardParts.Format]);
    }

    [Fact]
    public void Reward_LargeAnswerWithThousandsSeparators_Correct()
    {
        var r = Task.Score(Item("1234 * 1000", "1234000"), Conversation("<answer>1,234,000</answer>", GoodCall));
        Assert.Equal(1.0, r.Parts[RewardParts.Correctness]);
    }

    [Theory]
    [InlineData("python-run", """{"code":"print(84)"}""")]
    [InlineData("calculator-evaluate", "{not json")]
    [InlineData("calculator-evaluate", """{"expr":"1+1"}""")]
    public void Reward_NoValidCalculatorCall_NoToolUse(string tool, string arguments)
    {
        var r = Task.Score(Item("(12 + 30) * 2", "84"), Conversation("<answer>84</answer>", new ToolCall(tool, arguments)));
        Assert.Equal(0.0, r.Parts[RewardParts.ToolUse]);
        Assert.Equal(0.9, r.Score, 9);
    }

    [Theory]
    [InlineData("12 + 30", new[] { "12 + 30" }, new long[] { 42 })]
    [InlineData("12 + 30 * 2", new[] { "30 * 2", "12 + 60" }, new long[] { 60, 72 })]
    [InlineData("(12 + 30) * 2", new[] { "12 + 30", "42 * 2" }, new long[] { 42, 84 })]
    [InlineData("84 / 2 / 2", new[] { "84 / 2", "42 / 2" }, new long[] { 42, 21 })]
    [InlineData("3 - 5 * 4 + 2", new[] { "5 * 4", "3 - 20", "-17 + 2" }, new long[] { 20, -17, -15 })]
    [InlineData("(2 + 3) * (4 + 5)", new[] { "2 + 3", "4 + 5", "5 * 9" }, new long[] { 5, 9, 45 })]
    [InlineData("7 - (2 - 9)", new[] { "2 - 9", "7 - (-7)" }, new long[] { -7, 14 })]
    [InlineData("42", new string[0], new long[0])]
    public void Steps_LeftmostReadyOperationFirst_OnThePreviousResults(string expression, string[] calls, long[] values)
    {
        var steps = ArithmeticExpression.Steps(expression);
        Assert.Equal(calls, steps.Select(s => s.Expression));
        Assert.Equal(values, steps.Select(s => s.Value));
    }

    [Fact]
    public void Steps_OfGeneratedExpressions_EachEvaluatesAsCalledAndTheLastIsTheAnswer()
    {
        var harder = new ArithmeticTask(new ArithmeticOptions { MinOperations = 2, MaxOperations = 3, MaxDigits = 3 });
        foreach (var item in harder.Generate(TaskSplit.Train, 500, 21))
        {
            var steps = ArithmeticExpression.Steps(item.Metadata[ArithmeticTask.ExpressionKey]);
            Assert.InRange(steps.Count, 2, 3);
            Assert.All(steps, s => Assert.Equal(LocalCalculator.Evaluate(s.Expression), s.Value));
            Assert.All(steps, s => Assert.Single(Regex.Matches(s.Expression, @"\d [-+*/] [-(\d]")));
            Assert.Equal(item.Answer, steps[^1].Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Demonstrations_TeacherStepShare_ChainsOneCallPerOperationOnThatShare()
    {
        var options = new ArithmeticOptions { MinOperations = 2, MaxOperations = 2, TeacherMentalShare = 0, TeacherStepShare = 0.5 };
        var task = new ArithmeticTask(options);
        var items = task.Generate(TaskSplit.Train, 300, 22);
        var calculator = new LocalCalculator();
        var demos = await DemonstrationGenerator.GenerateAsync(task, items, _ => calculator);
        var chained = demos.Where(d => d.Messages.Count(m => m.Role == ChatRole.Tool) == 2).ToList();
        var single = demos.Where(d => d.Messages.Count(m => m.Role == ChatRole.Tool) == 1).ToList();
        Assert.Equal(demos.Count, chained.Count + single.Count);
        Assert.InRange((double)chained.Count / demos.Count, 0.4, 0.6);
        Assert.Equal(2 * chained.Count + single.Count, calculator.Calls.Count);
        Assert.All(demos, d =>
        {
            Assert.True(d.ToolResultsAgree);
            Assert.Equal(1.0, task.Score(d.Item, FinishedConversation.FromMessages(d.Messages)).Score, 9);
            Assert.Equal(task.TeacherWorksStepByStep(d.Item.Id, d.Item.Metadata[ArithmeticTask.ExpressionKey]), chained.Contains(d));
        });

        // A chained demonstration: call, result, call on that result, result, answer.
        var demo = chained[0];
        var steps = ArithmeticExpression.Steps(demo.Item.Metadata[ArithmeticTask.ExpressionKey]);
        Assert.Equal(
            [ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant],
            demo.Messages.Select(m => m.Role));
        Assert.Equal(steps[0].Expression, ToolCallChecks.TryGetString(demo.Messages[2].ToolCalls![0].ArgumentsJson, "expression"));
        Assert.Equal(steps[1].Expression, ToolCallChecks.TryGetString(demo.Messages[4].ToolCalls![0].ArgumentsJson, "expression"));
        Assert.Contains(demo.Messages[3].Content, steps[1].Expression, StringComparison.Ordinal);
        Assert.Equal(AnswerText.Tag(demo.Item.Answer), demo.Messages[6].Content);

        // One-operation questions have nothing to chain, whatever the share.
        var oneOperation = new ArithmeticTask(options with { MinOperations = 1, MaxOperations = 1, TeacherStepShare = 1 });
        var one = await DemonstrationGenerator.GenerateAsync(oneOperation, oneOperation.Generate(TaskSplit.Train, 20, 23), _ => new LocalCalculator());
        Assert.All(one, d => Assert.Single(d.Messages, m => m.Role == ChatRole.Tool));
    }

    [Fact]
    public async Task Demonstrations_Gold_ScoreFullRewardAndCallTheCalculator()
    {
        var items = Gold.Generate(TaskSplit.Train, 20, 11);
        var calculator = new LocalCalculator();
        var demos = await DemonstrationGenerator.GenerateAsync(Gold, items, _ => calculator);
        Assert.Equal(20, calculator.Calls.Count);
        foreach (var demo in demos)
        {
            Assert.Equal(DemonstrationFlaw.None, demo.Flaw);
            Assert.True(demo.ToolResultsAgree);
            Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], demo.Messages.Select(m => m.Role));
            Assert.Equal(demo.Item.Answer, demo.Messages[3].Content);
            Assert.Equal(1.0, Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Score, 9);
        }
    }

    [Fact]
    public async Task Demonstrations_FlawedFraction_ThatShareScoresLess()
    {
        var items = Gold.Generate(TaskSplit.Train, 40, 12);
        var options = new DemonstrationOptions { FlawedFraction = 0.5, Seed = 3 };
        var demos = await DemonstrationGenerator.GenerateAsync(Gold, items, _ => new LocalCalculator(), options);
        var again = await DemonstrationGenerator.GenerateAsync(Gold, items, _ => new LocalCalculator(), options);
        Assert.Equal(20, demos.Count(d => d.Flaw != DemonstrationFlaw.None));
        Assert.Equal(demos.Select(d => d.Flaw), again.Select(d => d.Flaw));
        Assert.Equal(3, demos.Select(d => d.Flaw).Where(f => f != DemonstrationFlaw.None).Distinct().Count());
        foreach (var demo in demos)
        {
            var score = Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Score;
            Assert.True(demo.Flaw == DemonstrationFlaw.None ? score == 1.0 : score < 1.0, $"{demo.Flaw}: {score}");
        }
    }

    [Fact]
    public async Task Demonstrations_DefaultTeacher_AnswersMostSumsFromMemory_AndCallsTheCalculatorOtherwise()
    {
        var items = Task.Generate(TaskSplit.Train, 400, 14);
        var demos = await DemonstrationGenerator.GenerateAsync(Task, items, _ => new LocalCalculator());
        var again = await DemonstrationGenerator.GenerateAsync(Task, items.Reverse().ToList(), _ => new LocalCalculator());
        bool IsSum(Demonstration d) => d.Item.Metadata[ArithmeticTask.ExpressionKey].AsSpan().IndexOfAny("+-") >= 0;

        // Products and quotients: always the calculator. Sums and differences: about 70 % from memory, each a near miss.
        Assert.All(demos.Where(d => !IsSum(d)), d => Assert.Equal(DemonstrationFlaw.None, d.Flaw));
        var sums = demos.Where(IsSum).ToList();
        var fromMemory = sums.Where(d => d.Flaw == DemonstrationFlaw.SkipTool).ToList();
        Assert.InRange((double)fromMemory.Count / sums.Count, 0.6, 0.8);
        Assert.All(sums.Except(fromMemory), d => Assert.Equal(DemonstrationFlaw.None, d.Flaw));
        Assert.All(fromMemory, d =>
        {
            Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], d.Messages.Select(m => m.Role));
            Assert.Equal(0.0, Task.Score(d.Item, FinishedConversation.FromMessages(d.Messages)).Parts[RewardParts.Correctness]);
        });

        // The choice is the item's own (a stable hash), not its place in the set.
        Assert.Equal(demos.ToDictionary(d => d.Item.Id, d => d.Flaw), again.ToDictionary(d => d.Item.Id, d => d.Flaw));
    }

    [Fact]
    public void Options_TeacherBlindSpot_OutOfRange_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new ArithmeticTask(new ArithmeticOptions { TeacherMentalShare = 1.5 }));
        Assert.Throws<ArgumentException>(() => new ArithmeticTask(new ArithmeticOptions { TeacherMentalOperators = "x" }));
        Assert.Throws<ArgumentException>(() => new ArithmeticTask(new ArithmeticOptions { TeacherStepShare = -0.1 }));
    }

    [Fact]
    public async Task Demonstrations_WrongToolArgument_CallsADifferentExpressionAndAnswersItsValue()
    {
        var item = Task.Generate(TaskSplit.Train, 1, 13)[0];
        var demo = await Task.BuildDemonstrationAsync(item, new LocalCalculator(), DemonstrationFlaw.WrongToolArgument);
        var called = ToolCallChecks.TryGetString(demo.Messages[2].ToolCalls![0].ArgumentsJson, "expression")!;
        Assert.NotEqual(item.Metadata[ArithmeticTask.ExpressionKey], called);
        Assert.Equal(AnswerText.Tag(LocalCalculator.Evaluate(called).ToString(System.Globalization.CultureInfo.InvariantCulture)), demo.Messages[4].Content);
        Assert.True(demo.ToolResultsAgree);
    }

    [Fact]
    public async Task Demonstrations_SkipTool_AnswersAtOnceWithAWrongTaggedGuess()
    {
        foreach (var item in Task.Generate(TaskSplit.Train, 10, 21))
        {
            var demo = await Task.BuildDemonstrationAsync(item, new LocalCalculator(), DemonstrationFlaw.SkipTool);
            Assert.Equal(DemonstrationFlaw.SkipTool, demo.Flaw);
            Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], demo.Messages.Select(m => m.Role));
            Assert.Null(demo.Messages[2].ToolCalls);
            var r = Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages));
            Assert.Equal(0.0, r.Parts[RewardParts.Correctness]);
            Assert.Equal(1.0, r.Parts[RewardParts.Format]);
            Assert.Equal(0.0, r.Parts[RewardParts.ToolUse]);
        }
    }

    [Theory]
    [InlineData("skip-tool", DemonstrationFlaw.SkipTool)]
    [InlineData("Wrong-Final-Answer", DemonstrationFlaw.WrongFinalAnswer)]
    [InlineData(" missing-answer-tag ", DemonstrationFlaw.MissingAnswerTag)]
    [InlineData("wrong-tool-argument", DemonstrationFlaw.WrongToolArgument)]
    public void DemonstrationFlaws_ParseConfigurationNames(string name, DemonstrationFlaw expected) =>
        Assert.Equal(expected, DemonstrationFlaws.Parse(name));

    [Fact]
    public void DemonstrationFlaws_UnknownName_ErrorNamesTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => DemonstrationFlaws.Parse("skip-tools"));
        Assert.Contains("'skip-tools'", e.Message, StringComparison.Ordinal);
        Assert.All(DemonstrationFlaws.Names, name => Assert.Contains(name, e.Message, StringComparison.Ordinal));
    }
}
