using AgentRl.Tasks;
using AgentRl.Tasks.Arithmetic;
using AgentRl.Tasks.Data;
using AgentRl.Tasks.Jsonl;
using AgentRl.Tasks.KbMultihop;
using AgentRl.Tasks.PythonMath;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class TaskItemJsonlTests
{
    private static string ToJsonl(IEnumerable<TaskItem> items)
    {
        using var writer = new StringWriter();
        TaskItemJsonl.Write(writer, items);
        return writer.ToString();
    }

    [Fact]
    public void RoundTrip_ItemsOfEveryTask_ComeBackEqual()
    {
        var items = new ArithmeticTask().Generate(TaskSplit.Train, 5, 1)
            .Concat(new KbMultihopTask().Generate(TaskSplit.Eval, 5, 1))
            .Concat(new PythonMathTask().Generate(TaskSplit.Train, 5, 1))
            .ToList();
        var text = ToJsonl(items);
        Assert.Equal(15, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var read = TaskItemJsonl.Read(new StringReader(text));
        Assert.Empty(read.Errors);
        Assert.Equal(items, read.Items);
        Assert.Contains(read.Items, i => i.Documents.Count > 0);
    }

    [Fact]
    public void RoundTrip_File_ComesBackEqual()
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentrl-tasks-{Guid.NewGuid():N}.jsonl");
        try
        {
            var items = new KbMultihopTask().Generate(TaskSplit.Train, 3, 2);
            TaskItemJsonl.WriteFile(path, items);
            Assert.Equal(items, TaskItemJsonl.ReadFile(path).Items);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Read_MalformedLines_ReportedWithLineNumbersAndTheRestLoads()
    {
        var good = ToJsonl(new ArithmeticTask().Generate(TaskSplit.Train, 3, 3)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var text = string.Join('\n',
            good[0],
            "{\"id\": \"x\", \"prompt\": ",
            good[1],
            "{\"id\":\"y\",\"task\":\"arithmetic\",\"prompt\":\"Compute 1 + 1\"}",
            string.Empty,
            "{\"id\":\"z\",\"task\":\"arithmetic\",\"prompt\":\"p\",\"answer\":\"2\",\"split\":\"test\"}",
            "[1, 2]",
            good[2]);
        var read = TaskItemJsonl.Read(new StringReader(text));
        Assert.Equal(3, read.Items.Count);
        Assert.Equal([2, 4, 6, 7], read.Errors.Select(e => e.LineNumber));
        Assert.Contains("invalid JSON", read.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("answer", read.Errors[1].Message, StringComparison.Ordinal);
        Assert.Contains("split", read.Errors[2].Message, StringComparison.Ordinal);
        Assert.StartsWith("line 2: ", read.Errors[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ValidatorRejectsAnItem_ReportedLikeAMalformedLine()
    {
        var text = ToJsonl(new ArithmeticTask().Generate(TaskSplit.Train, 2, 4)) + ToJsonl(new PythonMathTask().Generate(TaskSplit.Train, 1, 4));
        var read = TaskItemJsonl.Read(new StringReader(text), i => i.Task == ArithmeticTask.TaskName ? null : $"not an arithmetic item: {i.Task}");
        Assert.Equal(2, read.Items.Count);
        Assert.Equal(3, Assert.Single(read.Errors).LineNumber);
    }
}

public sealed class TaskValidationTests
{
    [Fact]
    public void Validate_GeneratedItemsOfEveryTask_Valid()
    {
        // jsonl has no items without a path; its checks are JsonlTaskTests'.
        foreach (var task in TaskRegistry.CreateDefault().List().Where(i => i.Name != JsonlTask.TaskName).Select(i => TaskRegistry.CreateDefault().Create(i.Name)))
        {
            Assert.All(task.Generate(TaskSplit.Train, 20, 1), i => Assert.Null(task.Validate(i)));
        }
    }

    [Fact]
    public void Validate_TamperedItems_Rejected()
    {
        var arithmetic = new ArithmeticTask();
        var a = arithmetic.Generate(TaskSplit.Train, 1, 1)[0];
        Assert.Contains("differs", arithmetic.Validate(a with { Answer = a.Answer + "1" }), StringComparison.Ordinal);
        Assert.Contains("expected 'arithmetic'", arithmetic.Validate(a with { Task = "python-math" }), StringComparison.Ordinal);

        var python = new PythonMathTask();
        var p = python.Generate(TaskSplit.Train, 1, 1)[0];
        Assert.Contains("differs", python.Validate(p with { Answer = "-1" }), StringComparison.Ordinal);
        Assert.NotNull(python.Validate(p with { Metadata = new Dictionary<string, string> { [PythonMathTask.FamilyKey] = "collatz-steps", [PythonMathTask.ArgsKey] = "x" } }));

        var kb = new KbMultihopTask();
        var k = kb.Generate(TaskSplit.Train, 1, 1)[0];
        Assert.Contains("does not mention", kb.Validate(k with { Answer = "Atlantis" }), StringComparison.Ordinal);
        Assert.Contains("not among", kb.Validate(k with { Documents = [] }), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WithTaskValidation_TamperedLineReportedByNumber()
    {
        var task = new ArithmeticTask();
        var items = task.Generate(TaskSplit.Train, 3, 2).ToList();
        items[1] = items[1] with { Answer = "0" == items[1].Answer ? "1" : "0" };
        using var writer = new StringWriter();
        TaskItemJsonl.Write(writer, items);
        var read = TaskItemJsonl.Read(new StringReader(writer.ToString()), task.Validate);
        Assert.Equal(2, read.Items.Count);
        Assert.Equal(2, Assert.Single(read.Errors).LineNumber);
    }
}
