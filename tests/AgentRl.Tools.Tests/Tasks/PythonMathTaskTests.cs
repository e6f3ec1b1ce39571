using AgentRl.Abstractions.Chat;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.PythonMath;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class PythonMathTaskTests
{
    private static readonly PythonMathTask Task = new();

    private static TaskItem Item(string family, string args)
    {
        var f = PythonMathProblems.Get(family);
        var x = PythonMathProblems.ParseArgs(args);
        return new TaskItem("p-1", PythonMathTask.TaskName, f.Prompt(x), f.Truth(x), TaskSplit.Train,
            new Dictionary<string, string> { [PythonMathTask.FamilyKey] = family, [PythonMathTask.ArgsKey] = args }, []);
    }

    [Theory]
    [InlineData("count-divisible", "1,30,3,5", "14")]
    [InlineData("sum-squares", "1,10", "385")]
    [InlineData("count-primes", "1,30", "10")]
    [InlineData("days-between", "2020,1,1,2021,1,1", "366")]
    [InlineData("days-between", "2023,2,27,2023,3,1", "2")]
    [InlineData("digit-sum-power", "2,15", "26")]
    [InlineData("collatz-steps", "6", "8")]
    public void Truth_HandComputedCases_Match(string family, string args, string expected)
    {
        Assert.Equal(expected, Item(family, args).Answer);
    }

    [Fact]
    public void Generate_SameSeed_SameItems()
    {
        Assert.Equal(Task.Generate(TaskSplit.Train, 40, 7), Task.Generate(TaskSplit.Train, 40, 7));
    }

    [Fact]
    public void Generate_DifferentSeeds_DifferentItems()
    {
        Assert.True(Task.Generate(TaskSplit.Train, 40, 7).Select(i => i.Prompt).Intersect(Task.Generate(TaskSplit.Train, 40, 8).Select(i => i.Prompt)).Count() < 3);
    }

    [Fact]
    public void Generate_TrainAndEval_NeverShareAProblem()
    {
        var train = Task.Generate(TaskSplit.Train, 300, 1).Select(i => i.Prompt);
        var eval = Task.Generate(TaskSplit.Eval, 80, 1).Concat(Task.Generate(TaskSplit.Eval, 80, 2)).Select(i => i.Prompt);
        Assert.Empty(train.Intersect(eval));
    }

    [Fact]
    public void Generate_OneFamilyOption_OnlyThatFamily()
    {
        var collatz = new PythonMathTask(new PythonMathOptions { Families = "collatz-steps", Scale = 50 });
        var items = collatz.Generate(TaskSplit.Train, 30, 2);
        Assert.All(items, i => Assert.Equal("collatz-steps", i.Metadata[PythonMathTask.FamilyKey]));
        Assert.All(items, i => Assert.InRange(long.Parse(i.Metadata[PythonMathTask.ArgsKey], System.Globalization.CultureInfo.InvariantCulture), 10, 500));
        Assert.Throws<ArgumentException>(() => new PythonMathTask(new PythonMathOptions { Families = "fizzbuzz" }));
    }

    [Fact]
    public void Reward_CorrectWrongAndToolless_ScoredByParts()
    {
        var item = Item("sum-squares", "1,10");
        var run = new ToolCall("python-run", """{"code":"print(sum(n * n for n in range(1, 11)))"}""");
        Assert.Equal(1.0, Task.Score(item, new FinishedConversation("<answer>385</answer>", [run])).Score, 9);
        Assert.Equal(0.2, Task.Score(item, new FinishedConversation("<answer>384</answer>", [run])).Score, 9);
        Assert.Equal(0.9, Task.Score(item, new FinishedConversation("<answer>385</answer>", [])).Score, 9);
        Assert.Equal(0.1, Task.Score(item, new FinishedConversation("385", [run])).Score, 9);
    }

    [Fact]
    public async Task Demonstrations_Gold_RealPythonAgreesWithCSharpTruthAndFullReward()
    {
        // Two items of every family: each runs a real python3 process.
        var items = Task.Generate(TaskSplit.Train, 60, 9).GroupBy(i => i.Metadata[PythonMathTask.FamilyKey]).SelectMany(g => g.Take(2)).ToList();
        Assert.Equal(2 * PythonMathProblems.Families.Count, items.Count);
        var demos = await DemonstrationGenerator.GenerateAsync(Task, items, _ => new LocalPython());
        foreach (var demo in demos)
        {
            Assert.True(demo.ToolResultsAgree, $"{demo.Item.Prompt}: python printed '{demo.Messages[3].Content}', truth {demo.Item.Answer}");
            Assert.Equal(ChatRole.Tool, demo.Messages[3].Role);
            Assert.Equal(1.0, Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Score, 9);
        }
    }

    [Theory]
    [InlineData(DemonstrationFlaw.WrongToolArgument)]
    [InlineData(DemonstrationFlaw.WrongFinalAnswer)]
    [InlineData(DemonstrationFlaw.MissingAnswerTag)]
    public async Task Demonstrations_Flawed_ScoreLessAndProgramsStillRun(DemonstrationFlaw flaw)
    {
        foreach (var item in Task.Generate(TaskSplit.Train, 3, 10))
        {
            var demo = await Task.BuildDemonstrationAsync(item, new LocalPython(), flaw);
            Assert.True(flaw == demo.Flaw, $"{item.Metadata[PythonMathTask.FamilyKey]} {item.Metadata[PythonMathTask.ArgsKey]} {item.Answer}");
            Assert.True(Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Score < 1.0);
            Assert.True(demo.ToolResultsAgree, demo.Messages[2].ToolCalls![0].ArgumentsJson);
        }
    }

    [Fact]
    public async Task Demonstrations_SkipTool_NoCallAndAWrongAnswer()
    {
        foreach (var item in Task.Generate(TaskSplit.Train, 3, 10))
        {
            var demo = await Task.BuildDemonstrationAsync(item, new LocalPython(), DemonstrationFlaw.SkipTool);
            Assert.Equal(3, demo.Messages.Count);
            Assert.Null(demo.Messages[2].ToolCalls);
            Assert.Equal(0.0, Task.Score(demo.Item, FinishedConversation.FromMessages(demo.Messages)).Parts[RewardParts.Correctness]);
        }
    }
}
