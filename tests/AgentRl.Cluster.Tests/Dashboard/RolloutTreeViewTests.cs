using System.Text.Json;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Dashboard;

namespace AgentRl.Cluster.Tests.Dashboard;

public sealed class RolloutTreeViewTests
{
    private static TrajectoryRecord Parse(string json) => JsonSerializer.Deserialize<TrajectoryRecord>(json, TrajectoryRecord.JsonOptions)!;

    private const string Prefix = """
        {"role":"system","content":"Use the calculator."},{"role":"user","content":"What is 1+2?"},
        {"role":"assistant","content":"","toolCalls":[{"name":"calculator-evaluate","arguments":{"expression":"1+2"}}]},{"role":"tool","content":"3","toolName":"calculator-evaluate"}
        """;

    [Fact]
    public void Group_ARolloutTree_OrdersParentsFirstAndShowsTheSharedPrefixOnce()
    {
        var root = Parse($$$"""{"step":2,"groupId":"r/2/0","branchPath":"0","reward":0.2,"finishReason":"eos","conversation":[{{{Prefix}}},{"role":"assistant","content":"<answer>4</answer>"}],"tokens":{"promptLength":2,"ids":[1,2,3,4,5,6],"lossMask":[0,0,1,0,1,1],"entropies":[0,0,0.5,0,1.25,0.75],"messageEnds":[1,2,3,4,6]}}""");
        var child = Parse($$$"""{"step":2,"groupId":"r/2/0","branchPath":"0.0","parentPath":"0","forkPosition":4,"forkEntropyDelta":0.31,"depth":1,"reward":1,"rewardParts":{"correctness":1},"finishReason":"eos","conversation":[{{{Prefix}}},{"role":"assistant","content":"<answer>3</answer>"}],"tokens":{"promptLength":2,"ids":[1,2,3,4,7,8,9],"lossMask":[0,0,1,0,1,1,1],"entropies":[0,0,0.5,0,0.1,0.2,0.3],"messageEnds":[1,2,3,4,7]}}""");
        var second = Parse($$$"""{"step":2,"groupId":"r/2/0","branchPath":"1","reward":0,"finishReason":"maxTurns","conversation":[{{{Prefix}}}]}""");

        var group = Assert.Single(RolloutTreeView.Groups([child, second, root], "hard"));

        Assert.True(group.IsTree);
        Assert.Equal("hard", group.Attribution);
        Assert.Equal(["0", "0.0", "1"], group.Nodes.Select(n => n.BranchPath));
        var (parentView, childView) = (group.Nodes[0], group.Nodes[1]);
        Assert.Equal(["0.0"], parentView.Children);
        Assert.False(parentView.IsLeaf);
        Assert.Equal(5, parentView.Messages.Count);
        Assert.Equal("calculator-evaluate", parentView.Messages[2].ToolCalls![0].Name);
        Assert.Equal("""{"expression":"1+2"}""", parentView.Messages[2].ToolCalls![0].Arguments);
        // The child shows only what follows the four messages it shares with its parent, with its own tokens.
        Assert.Equal(4, childView.SharedMessages);
        Assert.Equal("<answer>3</answer>", Assert.Single(childView.Messages).Content);
        Assert.Equal(4, childView.Messages[0].TokenStart);
        Assert.Equal([7, 8, 9], childView.Messages[0].Ids!);
        Assert.Equal([1, 1, 1], childView.Messages[0].Mask!);
        Assert.Equal([0.1f, 0.2f, 0.3f], childView.Messages[0].Entropies!);
        Assert.Equal(0.31, childView.ForkEntropyDelta);
        Assert.Equal(4, childView.ForkPosition);
        Assert.True(childView.IsLeaf);
        Assert.Equal("eos", childView.FinishReason);
        Assert.Equal(1, childView.RewardParts!["correctness"]);
        // No token alignment logged (an earlier version's line): messages without tokens, never a wrong alignment.
        Assert.All(group.Nodes[2].Messages, m => Assert.Null(m.Ids));
        Assert.False(group.Nodes[2].HasEntropies);
    }

    [Fact]
    public void Groups_PlainGrpoSamples_AreGroupsWithoutATree()
    {
        var a = Parse("""{"step":1,"groupId":"r/1/0","branchPath":"0","reward":1,"finishReason":1,"conversation":[{"role":0,"content":"s"}]}""");
        var b = Parse("""{"step":1,"groupId":"r/1/1","branchPath":"0","reward":0,"finishReason":"eos"}""");

        var groups = RolloutTreeView.Groups([a, b], "soft");

        Assert.Equal(["r/1/0", "r/1/1"], groups.Select(g => g.GroupId));
        Assert.All(groups, g => Assert.False(g.IsTree));
        Assert.All(groups, g => Assert.Null(g.Attribution));
        Assert.Equal(JsonNamingPolicy.CamelCase.ConvertName(((FinishReason)1).ToString()), groups[0].Nodes[0].FinishReason);   // an earlier log's enum numbers read as names
        Assert.Equal("system", groups[0].Nodes[0].Messages[0].Role);
    }

    [Fact]
    public void SvgLineChart_TwoRuns_DrawsOneLinePerRunWithEscapedLabelsAndRoundTicks()
    {
        var svg = SvgLineChart.Render("Reward <mean>", [
            new ChartSeries("run-a", "#0072B2", [(1, 0.1), (2, 0.4), (3, 0.35)]),
            new ChartSeries("run<b>", "#D55E00", [(1, 0.0), (2, 0.2)]),
        ]);

        var document = System.Xml.Linq.XDocument.Parse(svg);   // well-formed SVG
        System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, document.Descendants(ns + "polyline").Count());
        Assert.Equal(5, document.Descendants(ns + "circle").Count());
        Assert.Contains("Reward &lt;mean&gt;", svg, StringComparison.Ordinal);
        Assert.Contains("run&lt;b&gt;", svg, StringComparison.Ordinal);
        Assert.Equal([0.0, 0.1, 0.2, 0.3, 0.4], SvgLineChart.Ticks(0, 0.4, 5, integers: false));
        Assert.Equal([1.0, 2, 3], SvgLineChart.Ticks(1, 3, 6, integers: true));
        Assert.Contains("no data yet", SvgLineChart.Render("Entropy", [new ChartSeries("run-a", "#000", [])]), StringComparison.Ordinal);
        Assert.Contains("polyline", SvgLineChart.Render("flat", [new ChartSeries("a", "#000", [(1, 0.5), (2, 0.5)])]), StringComparison.Ordinal);
    }
}
