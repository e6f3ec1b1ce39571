using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Chat;

public sealed class CompactChatTemplateTests
{
    private readonly ByteLevelTokenizer _tokenizer = new();
    private readonly CompactChatTemplate _template;

    public CompactChatTemplateTests() => _template = new CompactChatTemplate(_tokenizer);

    [Fact]
    public void Render_ConversationWithToolCall_EqualsHandWrittenText()
    {
        var expected =
            "<|system|>You are a careful math tutor.\ntools: python(code)<|end|>"
            + "<|user|>What is 2**10?<|end|>"
            + "<|assistant|>Let me compute it.<tool_call>{\"name\":\"python\",\"arguments\":{\"code\":\"print(2**10)\"}}</tool_call>"
            + "<tool_response>1024</tool_response>2**10 = 1024.<|end|>"
            + "<|user|>And 3**5?<|end|><|assistant|>";
        var conversation = Conversations.All[0];
        Assert.Equal(expected, _template.Render(conversation.Messages, conversation.Tools, addGenerationPrompt: true));
    }

    [Fact]
    public void Encode_TurnMarkersAndToolTags_AreSingleTokens()
    {
        var ids = _template.Encode([ChatMessage.User("x"), ChatMessage.Assistant("", new ToolCall("f", "{}"))], [], addGenerationPrompt: false);
        var expected = new[] { "<|user|>", "x", "<|end|>", "<|assistant|>", "<tool_call>" }
            .Select(t => t.Length == 1 ? t[0] : _tokenizer.TokenToId(t)!.Value);
        Assert.Equal(expected, ids.Take(5));
        Assert.Equal(_tokenizer.TokenToId("</tool_call>"), ids[^1]);
    }

    [Fact]
    public void Deltas_EveryConversation_EqualWholeRendering()
    {
        foreach (var conversation in Conversations.All)
        {
            Conversations.AssertIncrementalEqualsWhole(_template, conversation);
        }
    }

    [Fact]
    public void ToolResults_AfterToolCallStop_AreJustTheResponseTags()
    {
        var generated = _template.EncodeAssistantTurn(ChatMessage.Assistant("", new ToolCall("python", "{\"code\": \"1\"}")));
        var delta = _template.ToolResult(generated, "python", "1");
        Assert.Equal([_tokenizer.TokenToId("<tool_response>")!.Value, '1', _tokenizer.TokenToId("</tool_response>")!.Value], delta);
    }

    [Fact]
    public void Start_TwoToolsAndShortPrompt_FitsInASmallPartOfTheTinyContext()
    {
        var ids = _template.Start("Solve it.", [Conversations.Python, Conversations.Search], "What is 6*7?");
        Assert.Equal("<|system|>Solve it.\ntools: python(code), kb-search(query, top_k)<|end|><|user|>What is 6*7?<|end|><|assistant|>", _tokenizer.Decode(ids));
        Assert.True(ids.Length <= 80, $"{ids.Length} tokens");
    }

    [Fact]
    public void StopTokenIds_ByteLevelTokenizer_AreToolCallCloseEndAndEndOfText()
    {
        Assert.Equal(
            [_tokenizer.TokenToId("</tool_call>")!.Value, _tokenizer.TokenToId("<|end|>")!.Value, _tokenizer.EosId],
            _template.StopTokenIds);
        Assert.Equal(["</tool_call>", "<|end|>", "<|endoftext|>"], _template.StopStrings);
    }

    [Fact]
    public void Constructor_TokenizerWithoutCompactMarkers_Throws()
    {
        var chatMlOnly = new ByteLevelTokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]);
        Assert.Throws<ArgumentException>(() => new CompactChatTemplate(chatMlOnly));
    }
}

public sealed class ChatTemplatesTests
{
    [Fact]
    public void Create_KnownNames_GiveTheirTemplatesAndUnknownThrows()
    {
        var tokenizer = new ByteLevelTokenizer();
        Assert.IsType<QwenChatTemplate>(ChatTemplates.Create(ChatTemplates.Qwen25, tokenizer));
        Assert.IsType<CompactChatTemplate>(ChatTemplates.Create(ChatTemplates.Compact, tokenizer));
        Assert.Throws<ArgumentException>(() => ChatTemplates.Create("chatml-9000", tokenizer));
    }

    [Fact]
    public void ToolResults_FromObservations_EqualsToolResultsFromNameAndText()
    {
        var template = ChatTemplates.Create(ChatTemplates.Compact, new ByteLevelTokenizer());
        var observation = new AgentRl.Abstractions.Tools.ToolObservation("python", "ZeroDivisionError", IsError: true, "exception", 3.0);
        Assert.Equal(
            template.ToolResult([], "python", "ZeroDivisionError"),
            template.ToolResults([], [observation]));
    }
}
