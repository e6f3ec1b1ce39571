using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class EchoExamplesTests
{
    private static readonly ByteLevelTokenizer Tokenizer = new();
    private static readonly IChatTemplate Template = ChatTemplates.Create(ChatTemplates.Compact, Tokenizer);

    // A calculator conversation: the prompt and the final answer are not copied, the call's values and the result are.
    private static readonly IReadOnlyList<ChatMessage> Calculation =
    [
        ChatMessage.System("Use the calculator."),
        ChatMessage.User("Compute 12 + 3 and tell me the result please"),
        ChatMessage.Assistant("", new ToolCall("calculator", """{"expression":"12 + 3","digits":7}""")),
        ChatMessage.Tool("calculator", "15\n"),
        ChatMessage.Assistant("<answer>15</answer>"),
    ];

    [Fact]
    public void WithRedrawnToolResult_AnswerQuotingTheLastResult_BothRedrawnAlike()
    {
        IReadOnlyList<ChatMessage> chained =
        [
            ChatMessage.System(""),
            ChatMessage.User("Compute 7 * 8 - 2"),
            ChatMessage.Assistant("", new ToolCall("calculator", """{"expression":"7 * 8"}""")),
            ChatMessage.Tool("calculator", "56"),
            ChatMessage.Assistant("", new ToolCall("calculator", """{"expression":"56 - 2"}""")),
            ChatMessage.Tool("calculator", "-154"),
            ChatMessage.Assistant("<answer>-154</answer>"),
        ];
        var rng = new Random(3);
        var results = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var copy = EchoExamples.WithRedrawnToolResult(chained, rng);
            Assert.NotNull(copy);
            var result = copy[5].Content;
            Assert.Matches("^-[1-9][0-9]{2}$", result);
            Assert.NotEqual("-154", result);
            Assert.Equal($"<answer>{result}</answer>", copy[6].Content);
            Assert.Equal(chained.Take(5), copy.Take(5));   // only the last result and the answer change
            results.Add(result);
        }

        Assert.True(results.Count > 30, $"{results.Count} distinct redrawn results of 50");
    }

    [Fact]
    public void WithRedrawnToolResult_AnswerNotQuotingTheResultOrNoTool_Null()
    {
        Assert.Null(EchoExamples.WithRedrawnToolResult(Calculation, new Random(1)));   // "15\n" is not in "<answer>15</answer>"
        Assert.Null(EchoExamples.WithRedrawnToolResult([ChatMessage.User("Compute 2 + 2"), ChatMessage.Assistant("<answer>4</answer>")], new Random(1)));
        Assert.Null(EchoExamples.WithRedrawnToolResult([ChatMessage.User("x"), ChatMessage.Tool("t", "+ -"), ChatMessage.Assistant("+ -")], new Random(1)));

        // Each character is redrawn within its class; signs and spaces stay; a number keeps its length and a non-zero lead.
        var rng = new Random(2);
        for (var i = 0; i < 100; i++)
        {
            Assert.Matches("^[A-Z][a-z]-[1-9][0-9] [0-9]$", EchoExamples.Redraw("Ab-30 0", rng));
        }
    }

    [Fact]
    public void Build_EveryExample_AssistantTurnRepeatsTheUserTextAndOnlyItIsTrained()
    {
        var examples = EchoExamples.Build(Template, "0123456789+-*/() ", 200, seed: 4, minLength: 2, maxLength: 9);
        Assert.Equal(200, examples.Count);
        var lengths = new HashSet<int>();
        foreach (var example in examples)
        {
            var first = Array.IndexOf(example.LossMask, (byte)1);
            Assert.True(first > 0);
            Assert.All(example.LossMask.AsSpan(first).ToArray(), m => Assert.Equal(1, m));
            var prompt = Tokenizer.Decode(example.TokenIds.AsSpan(0, first).ToArray());
            var answer = Tokenizer.Decode(example.TokenIds.AsSpan(first).ToArray());
            var user = prompt[(prompt.IndexOf(CompactChatTemplate.UserMarker, StringComparison.Ordinal) + CompactChatTemplate.UserMarker.Length)..prompt.IndexOf(CompactChatTemplate.EndMarker, StringComparison.Ordinal)];
            Assert.Equal(user + CompactChatTemplate.EndMarker, answer);
            Assert.InRange(user.Length, 2, 9);
            Assert.All(user, c => Assert.Contains(c, "0123456789+-*/() "));
            lengths.Add(user.Length);
        }

        Assert.Equal(8, lengths.Count);
        Assert.Equal(examples.Select(e => e.TokenIds), EchoExamples.Build(Template, "0123456789+-*/() ", 200, seed: 4, minLength: 2, maxLength: 9).Select(e => e.TokenIds));
    }

    [Fact]
    public void Alphabet_TakesToolArgumentsAndResults_NotPromptsOrAnswers()
    {
        Assert.Equal(" +12357", string.Concat(EchoExamples.Alphabet([Calculation]).Order()));
    }

    [Fact]
    public void CopyLengths_SpanToolArgumentsAndResults_NotPromptsOrAnswers()
    {
        Assert.Equal((1, 6), EchoExamples.CopyLengths([Calculation]));
        Assert.Null(EchoExamples.CopyLengths([[ChatMessage.User("Hi"), ChatMessage.Assistant("Hello")]]));
    }
}
