using AgentRl.Abstractions.Configuration;

namespace AgentRl.Tools.Tests.Tasks;

/// <summary>"Did you mean": close misspellings are matched, unrelated names are not.</summary>
public sealed class NameSuggestionsTests
{
    [Theory]
    [InlineData("aritmetic", "arithmetic")]
    [InlineData("gpro", "grpo")]
    [InlineData("--stpes", "--steps")]
    [InlineData("max-operations", "maxOperations")]
    [InlineData("MaxOperatons", "maxOperations")]
    [InlineData("kb-multi", "kb-multihop")]
    public void Closest_NearMiss_IsSuggested(string typed, string expected) =>
        Assert.Equal(expected, NameSuggestions.Closest(typed, ["arithmetic", "kb-multihop", "python-math", "grpo", "drgrpo", "--steps", "--seed", "maxOperations", "minOperations"]));

    [Theory]
    [InlineData("chess")]
    [InlineData("nope")]
    [InlineData("x")]
    public void Closest_NothingClose_IsNull(string typed) =>
        Assert.Null(NameSuggestions.Closest(typed, ["arithmetic", "kb-multihop", "python-math"]));

    [Fact]
    public void DidYouMean_FormatsOrIsEmpty()
    {
        Assert.Equal(" Did you mean 'steps'?", NameSuggestions.DidYouMean("stpes", ["steps", "seed"]));
        Assert.Equal(string.Empty, NameSuggestions.DidYouMean("zzzzzz", ["steps", "seed"]));
    }
}
