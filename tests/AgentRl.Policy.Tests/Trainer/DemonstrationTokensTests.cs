using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tests.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class DemonstrationTokensTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var template in ChatTemplates.Names)
        {
            for (var i = 0; i < Demonstrations.Count; i++)
            {
                data.Add(template, i);
            }
        }
        return data;
    }

    private static IReadOnlyList<(IReadOnlyList<ToolSpec> Tools, IReadOnlyList<ChatMessage> Messages)> Demonstrations { get; } =
    [
        ([Conversations.Python],
        [
            ChatMessage.System("You are a careful math tutor."),
            ChatMessage.User("What is 2**10?"),
            ChatMessage.Assistant("Let me compute it.", new ToolCall("python", """{"code": "print(2**10)"}""")),
            ChatMessage.Tool("python", "1024"),
            ChatMessage.Assistant("2**10 = 1024."),
        ]),
        ([Conversations.Python, Conversations.Search],
        [
            ChatMessage.User("Find the capital of France and compute 6*7."),
            ChatMessage.Assistant("", new ToolCall("kb-search", """{"query":"capital of France"}"""), new ToolCall("python", """{"code":"print(6*7)"}""")),
            ChatMessage.Tool("kb-search", "Paris"),
            ChatMessage.Tool("python", "42\n"),
            ChatMessage.Assistant("Retry.", new ToolCall("python", """{"code":"print(2)"}""")),
            ChatMessage.Tool("python", "2"),
            ChatMessage.Assistant("Paris; 42."),
        ]),
        ([],
        [
            ChatMessage.System("Be brief."),
            ChatMessage.User("Hi!"),
            ChatMessage.Assistant("Hello."),
            ChatMessage.User("Name three colours."),
            ChatMessage.Assistant("Red, green, blue."),
        ]),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_Conversation_EqualsRolloutAssemblyAndWholeEncoding(string templateName, int index)
    {
        var template = ChatTemplates.Create(templateName, new ByteLevelTokenizer());
        var (tools, messages) = Demonstrations[index];

        var demo = DemonstrationTokens.Build(template, messages, tools);

        // The rollout's own assembly, written out: Start, generated turn, tool results / user turn, generated turn, …
        var system = messages[0].Role == ChatRole.System ? messages[0].Content : null;
        var rest = messages.SkipWhile(m => m.Role == ChatRole.System).ToList();
        var expected = new List<int>(template.Start(system, tools, rest[0].Content));
        var assistantTurns = new List<int[]>();
        int[] generated = [];
        for (var i = 1; i < rest.Count; i++)
        {
            switch (rest[i].Role)
            {
                case ChatRole.Assistant:
                    generated = template.EncodeAssistantTurn(rest[i]);
                    assistantTurns.Add(generated);
                    expected.AddRange(generated);
                    break;
                case ChatRole.Tool:
                    var results = rest.Skip(i).TakeWhile(m => m.Role == ChatRole.Tool).Select(m => new ToolResult(m.ToolName!, m.Content)).ToList();
                    expected.AddRange(template.ToolResults(generated, results));
                    i += results.Count - 1;
                    break;
                case ChatRole.User:
                    expected.AddRange(template.UserTurn(generated, rest[i].Content));
                    break;
            }
        }

        Assert.Equal(expected, demo.TokenIds);
        var whole = template.Encode(messages, tools, addGenerationPrompt: false);
        Assert.Equal(whole.Take(demo.TokenIds.Length), demo.TokenIds);
        Assert.Equal(demo.TokenIds.Length, demo.LossMask.Length);

        // The mask-1 runs are exactly the assistant turns, in order.
        var runs = new List<int[]>();
        for (var t = 0; t < demo.LossMask.Length; t++)
        {
            if (demo.LossMask[t] == 1 && (t == 0 || demo.LossMask[t - 1] == 0))
            {
                var end = t;
                while (end < demo.LossMask.Length && demo.LossMask[end] == 1)
                {
                    end++;
                }
                runs.Add(demo.TokenIds[t..end]);
            }
        }
        Assert.Equal(assistantTurns.Count, runs.Count);
        for (var k = 0; k < runs.Count; k++)
        {
            Assert.Equal(assistantTurns[k], runs[k]);
        }
        Assert.All(demo.LossMask, m => Assert.True(m is 0 or 1));
    }

    [Fact]
    public void Build_CompactToolCall_MasksCallAndEndButNotMarkersOrObservation()
    {
        var tokenizer = new ByteLevelTokenizer();
        var template = ChatTemplates.Create(ChatTemplates.Compact, tokenizer);
        var demo = DemonstrationTokens.Build(
            template,
            [
                ChatMessage.User("3+4?"),
                ChatMessage.Assistant("", new ToolCall("python", """{"code":"print(3+4)"}""")),
                ChatMessage.Tool("python", "7"),
                ChatMessage.Assistant("7"),
            ],
            [Conversations.Python]);

        string Text(Func<byte, bool> keep) => tokenizer.Decode([.. demo.TokenIds.Where((_, t) => keep(demo.LossMask[t]))]);
        Assert.Equal("""<tool_call>{"name":"python","arguments":{"code":"print(3+4)"}}</tool_call>7<|end|>""", Text(m => m == 1));
        var notTrained = Text(m => m == 0);
        Assert.EndsWith("<|assistant|><tool_response>7</tool_response>", notTrained);
        Assert.Contains("3+4?", notTrained);
    }

    [Fact]
    public void Build_EndsWithToolResult_Throws()
    {
        var template = ChatTemplates.Create(ChatTemplates.Compact, new ByteLevelTokenizer());
        Assert.Throws<ArgumentException>(() => DemonstrationTokens.Build(
            template,
            [ChatMessage.User("x"), ChatMessage.Assistant("", new ToolCall("python", "{}")), ChatMessage.Tool("python", "1")],
            [Conversations.Python]));
    }
}
