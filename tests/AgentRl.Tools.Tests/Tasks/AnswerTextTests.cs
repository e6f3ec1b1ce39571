using AgentRl.Abstractions.Chat;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class AnswerTextTests
{
    [Theory]
    [InlineData("The Eiffel  Tower!", "eiffel tower")]
    [InlineData("an apple, a pear", "apple pear")]
    [InlineData("Théâtre-Nord", "théâtrenord")]
    public void Normalize_SquadRules_LowercaseNoPunctuationNoArticles(string text, string expected)
    {
        Assert.Equal(expected, AnswerText.Normalize(text));
    }

    [Theory]
    [InlineData("new york city", "New York", 0.8)]
    [InlineData("Paris", "paris", 1.0)]
    [InlineData("London", "Paris", 0.0)]
    [InlineData("the", "Paris", 0.0)]
    public void TokenF1_HandComputed(string prediction, string reference, double expected)
    {
        Assert.Equal(expected, AnswerText.TokenF1(prediction, reference), 9);
    }

    [Fact]
    public void Extract_LastCompleteAnswer_FormatOnlyWhenExactlyOne()
    {
        Assert.Equal("7", AnswerText.Extract("x <answer> 7 </answer>", out var ok));
        Assert.True(ok);
        Assert.Equal("8", AnswerText.Extract("<answer>7</answer> no, <answer>8</answer>", out ok));
        Assert.False(ok);
        Assert.Null(AnswerText.Extract("</answer>7<answer>", out ok));
        Assert.False(ok);
    }

    [Fact]
    public void FromMessages_Conversation_LastAssistantTextAndAllCalls()
    {
        var call1 = new ToolCall("kb-search", """{"query":"a"}""");
        var call2 = new ToolCall("kb-search", """{"query":"b"}""");
        var conversation = FinishedConversation.FromMessages(
        [
            ChatMessage.System("s"),
            ChatMessage.User("q"),
            ChatMessage.Assistant("look", call1),
            ChatMessage.Tool("kb-search", "<answer>wrong</answer>"),
            ChatMessage.Assistant(string.Empty, call2),
            ChatMessage.Tool("kb-search", "r"),
            ChatMessage.Assistant("<answer>b</answer>"),
        ]);
        Assert.Equal("<answer>b</answer>", conversation.FinalText);
        Assert.Equal([call1, call2], conversation.ToolCalls);
    }
}
