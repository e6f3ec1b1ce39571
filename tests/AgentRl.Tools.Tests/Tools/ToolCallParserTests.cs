using System.Text.Json;
using AgentRl.Tools.Parsing;

namespace AgentRl.Tools.Tests.Tools;

public sealed class ToolCallParserTests
{
    private readonly ToolCallParser _parser = new();

    [Fact]
    public void Parse_HermesObjectArguments_GivesCallAndContent()
    {
        var turn = _parser.Parse(
            "Let me compute.\n<tool_call>\n{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"1+2\"}}\n</tool_call>");

        Assert.Equal("Let me compute.", turn.Content);
        var call = Assert.Single(turn.Calls);
        Assert.False(call.IsMalformed);
        Assert.Equal("calculator-evaluate", call.Call.Name);
        Assert.Equal("1+2", JsonDocument.Parse(call.Call.ArgumentsJson).RootElement.GetProperty("expression").GetString());
    }

    [Fact]
    public void Parse_HermesStringArguments_AreUnwrapped()
    {
        var turn = _parser.Parse("<tool_call>{\"name\": \"kb-search\", \"arguments\": \"{\\\"query\\\": \\\"paris\\\", \\\"k\\\": 2}\"}</tool_call>");

        var call = Assert.Single(turn.Calls).Call;
        var args = JsonDocument.Parse(call.ArgumentsJson).RootElement;
        Assert.Equal("paris", args.GetProperty("query").GetString());
        Assert.Equal(2, args.GetProperty("k").GetInt32());
    }

    [Fact]
    public void Parse_SeveralCalls_KeepsOrderAndProse()
    {
        var turn = _parser.Parse(
            "A <tool_call>{\"name\": \"x-a\", \"arguments\": {}}</tool_call> B <python>print(1)</python> C");

        Assert.Equal(["x-a", "python-run"], turn.Calls.Select(c => c.Call.Name));
        Assert.Equal("A  B  C", turn.Content);
    }

    [Fact]
    public void Parse_TagTrigger_MapsToConfiguredToolAndArgument()
    {
        var turn = _parser.Parse("<think>need code</think>\n<python>\nx = 2\nif x:\n    print(x ** 10)\n</python>");

        var call = Assert.Single(turn.Calls).Call;
        Assert.Equal("python-run", call.Name);
        Assert.Equal("x = 2\nif x:\n    print(x ** 10)", JsonDocument.Parse(call.ArgumentsJson).RootElement.GetProperty("code").GetString());
        Assert.Equal("<think>need code</think>", turn.Content);
    }

    [Fact]
    public void Parse_TagWithMarkdownFence_StripsFence()
    {
        var call = Assert.Single(_parser.Parse("<python>```python\nprint(3)\n```</python>").Calls).Call;
        Assert.Equal("print(3)", JsonDocument.Parse(call.ArgumentsJson).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public void Parse_CustomTag_UsesItsBinding()
    {
        var parser = new ToolCallParser(new ToolCallFormatOptions
        {
            Hermes = false,
            Tags = { ["calc"] = new TagToolBinding { ToolName = "calculator-evaluate", ArgumentName = "expression" } },
        });

        var turn = parser.Parse("<calc> 2^10 </calc><tool_call>{\"name\": \"ignored\"}</tool_call>");

        var call = Assert.Single(turn.Calls).Call;
        Assert.Equal("calculator-evaluate", call.Name);
        Assert.Equal("2^10", JsonDocument.Parse(call.ArgumentsJson).RootElement.GetProperty("expression").GetString());
    }

    [Fact]
    public void Parse_UnclosedFinalBlock_IsAcceptedByDefaultOnly()
    {
        Assert.Equal("search-me", JsonDocument.Parse(Assert.Single(_parser.Parse("ok <search>search-me").Calls).Call.ArgumentsJson)
            .RootElement.GetProperty("query").GetString());

        var strict = new ToolCallParser(new ToolCallFormatOptions { AcceptUnclosedFinalBlock = false });
        var turn = strict.Parse("ok <search>search-me");
        Assert.Empty(turn.Calls);
        Assert.Equal("ok <search>search-me", turn.Content);
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": </tool_call>", "calculator-evaluate", "not valid JSON")]
    [InlineData("<tool_call>[1, 2]</tool_call>", "", "must be a JSON object")]
    [InlineData("<tool_call>{\"arguments\": {}}</tool_call>", "", "no \"name\"")]
    [InlineData("<tool_call>{\"name\": \"kb-search\", \"arguments\": \"query=paris\"}</tool_call>", "kb-search", "does not hold a JSON object")]
    [InlineData("<tool_call>{\"name\": \"kb-search\", \"arguments\": 42}</tool_call>", "kb-search", "must be a JSON object")]
    public void Parse_MalformedHermesBlock_GivesCallShapedError(string text, string expectedName, string expectedError)
    {
        var call = Assert.Single(_parser.Parse(text).Calls);

        Assert.True(call.IsMalformed);
        Assert.Equal(expectedName, call.Call.Name);
        Assert.Contains(expectedError, call.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NoCalls_ReturnsTrimmedContent()
    {
        var turn = _parser.Parse("  The answer is <answer>\\boxed{4}</answer>\n");
        Assert.Empty(turn.Calls);
        Assert.Equal("The answer is <answer>\\boxed{4}</answer>", turn.Content);
    }
}
