using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using AgentRl.Tasks;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class TrajectoryRecordTests
{
    internal static Trajectory Sample(string groupId, FinishReason finish = FinishReason.MaxTurns) => new()
    {
        GroupId = groupId,
        BranchPath = "0",
        TokenIds = [10, 11, 12, 13],
        PromptLength = 2,
        LossMask = [0, 0, 1, 1],
        Logprobs = [0, 0, -1, -2],
        Entropies = [0, 0, 1.23456f, 0.5f],
        PolicyVersions = [-1, -1, 4, 4],
        MessageEnds = [1, 2, 3, 3, 4],
        FinishReason = finish,
        Reward = 0.9,
        RewardParts = new Dictionary<string, double> { ["correctness"] = 1, ["format"] = 1, ["tool_use"] = 0 },
        Conversation =
        [
            ChatMessage.System("Use the calculator."),
            ChatMessage.User("What is 1+2? Say \"done\" & answer."),
            ChatMessage.Assistant("Let me compute.", new ToolCall("calculator-evaluate", """{"expression":"1+2"}""")),
            ChatMessage.Tool("calculator-evaluate", "3"),
            ChatMessage.Assistant("<answer>42</answer>"),
        ],
    };

    internal static TaskItem Item(string answer) => new("arith-7", "arithmetic", "What is 1+2?", answer, TaskSplit.Train, new Dictionary<string, string>(), []);

    [Fact]
    public void TrajectoryRecord_WrittenByTheLog_IsReadableJsonThatRoundTrips()
    {
        using var dir = new TempDirectory();
        using (var writer = new TrajectoryLogWriter(dir.Path))
        {
            writer.Write(TrajectoryRecord.From(3, Sample("run/3/0"), Item("42").Id, Item("42").Answer));
        }

        var line = File.ReadAllLines(Path.Combine(dir.Path, "trajectories.0000.jsonl")).Single();

        // Text as written: no \u003C for '<', \u0022 for '"', \u0026 for '&' or \u002B for '+'; the arguments are JSON, not a string of it.
        Assert.Contains("\"content\":\"<answer>42</answer>\"", line, StringComparison.Ordinal);
        Assert.Contains("\"arguments\":{\"expression\":\"1+2\"}", line, StringComparison.Ordinal);
        Assert.Contains("Say \\\"done\\\" & answer.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", line, StringComparison.Ordinal);
        // Names, not numbers; camelCase keys; the gold answer and reward parts; tokens last.
        Assert.Contains("\"role\":\"assistant\"", line, StringComparison.Ordinal);
        Assert.Contains("\"finishReason\":\"maxTurns\"", line, StringComparison.Ordinal);
        Assert.Contains("\"goldAnswer\":\"42\"", line, StringComparison.Ordinal);
        Assert.Contains("\"rewardParts\":{\"correctness\":1,\"format\":1,\"tool_use\":0}", line, StringComparison.Ordinal);
        Assert.Contains("\"tokens\":{\"promptLength\":2,\"ids\":[10,11,12,13],\"lossMask\":[0,0,1,1],\"entropies\":[0,0,1.235,0.5],\"messageEnds\":[1,2,3,3,4]}}", line, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(line);
        Assert.Equal("tokens", document.RootElement.EnumerateObject().Last().Name);
        Assert.All(Keys(document.RootElement), k => Assert.True(char.IsLower(k[0]), $"key '{k}' is not camelCase"));

        var read = Assert.Single(TrajectoryRecord.ReadAll(dir.Path));
        Assert.Equal((3L, "run/3/0", "0", "arith-7", "42", 0.9, FinishReason.MaxTurns), (read.Step, read.GroupId, read.BranchPath, read.ItemId, read.GoldAnswer, read.Reward, read.FinishReason));
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], read.Conversation!.Select(m => m.Role));
        Assert.Equal("<answer>42</answer>", read.Conversation![4].Content);
        Assert.Equal("What is 1+2? Say \"done\" & answer.", read.Conversation![1].Content);
        var call = Assert.Single(read.Conversation![2].ToolCalls!);
        Assert.Equal(("calculator-evaluate", """{"expression":"1+2"}"""), (call.Name, call.ArgumentsText()));
        Assert.Equal("calculator-evaluate", read.Conversation![3].ToolName);
        Assert.Equal(1.0, read.RewardParts!["correctness"]);
        Assert.Equal([10, 11, 12, 13], read.Tokens!.Ids);
        Assert.Equal([0, 0, 1, 1], read.Tokens.LossMask);
    }

    [Fact]
    public void RunArtifactsSamples_AGroupBranched_LogsTheFirstSuchTreeWholeWithItsForkDelta()
    {
        var plain = new[] { Sample("run/1/0"), Sample("run/1/0") with { BranchPath = "1" }, Sample("run/1/0") with { BranchPath = "2" }, Sample("run/1/1") };
        var tree = new[]
        {
            Sample("run/1/0"),
            Sample("run/1/0") with { BranchPath = "1" },
            Sample("run/1/1"),
            Sample("run/1/1") with { BranchPath = "1" },
            Sample("run/1/1") with { BranchPath = "0.0", ParentPath = "0", ForkPosition = 3, Depth = 1, ForkEntropyDelta = 0.123456 },
            Sample("run/1/2") with { BranchPath = "0.0", ParentPath = "0", ForkPosition = 3, Depth = 1 },
        };

        Assert.Equal(["0", "1"], RunArtifacts.Samples(plain, 2).Select(t => t.BranchPath));
        // The first group that branched, whole (group 0 did not branch).
        Assert.Equal(["run/1/1/0", "run/1/1/1", "run/1/1/0.0"], RunArtifacts.Samples(tree, 2).Select(t => $"{t.GroupId}/{t.BranchPath}"));
        var child = TrajectoryRecord.From(1, tree[4], null);
        Assert.Equal(0.1235, child.ForkEntropyDelta);
        var json = JsonSerializer.Serialize(child, TrajectoryRecord.JsonOptions);
        Assert.Contains("\"forkEntropyDelta\":0.1235", json, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        Assert.Equal("tokens", document.RootElement.EnumerateObject().Last().Name);
    }

    [Fact]
    public void TrajectoryToolCall_ArgumentsThatAreNotJson_AreKeptAsText()
    {
        var call = TrajectoryToolCall.From(new ToolCall("calculator-evaluate", "1+2 <oops"));

        Assert.Equal(JsonValueKind.String, call.Arguments.ValueKind);
        Assert.Equal("1+2 <oops", call.ArgumentsText());
        Assert.Contains("\"arguments\":\"1+2 <oops\"", JsonSerializer.Serialize(call, TrajectoryRecord.JsonOptions), StringComparison.Ordinal);
    }

    [Fact]
    public void TrajectoryRecordReadAll_LogOfAnEarlierVersionAndATornLine_ReadsWhatItCanAndSkipsTheRest()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(
            Path.Combine(dir.Path, "trajectories.0000.jsonl"),
            """{"step":2,"GroupId":"r/2/0","BranchPath":"0","Reward":1,"FinishReason":0,"Conversation":[{"Role":2,"Content":"\u003Canswer\u003E7\u003C/answer\u003E"}],"TokenIds":[1],"LossMask":"AQ=="}""" + "\n{\"step\":3,\"Gro");

        var read = Assert.Single(TrajectoryRecord.ReadAll(dir.Path));

        Assert.Equal((2L, "r/2/0", FinishReason.Eos), (read.Step, read.GroupId, read.FinishReason));
        Assert.Equal((ChatRole.Assistant, "<answer>7</answer>"), (read.Conversation![0].Role, read.Conversation[0].Content));
        Assert.Null(read.GoldAnswer);
    }

    /// <summary>Every property name of the record's own objects (not the keys of the reward-parts map).</summary>
    private static IEnumerable<string> Keys(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => p.Name == "rewardParts" || p.Name == "arguments" ? [p.Name] : Keys(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Keys),
        _ => [],
    };
}
