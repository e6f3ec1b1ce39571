using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Metrics;

namespace AgentRl.Pipeline.Tests.Metrics;

public sealed class BranchingMetricsTests
{
    private static Trajectory Make(string path, int depth = 0, int mismatches = 0, params string[] tools) => new()
    {
        GroupId = "g",
        BranchPath = path,
        Depth = depth,
        TokenIds = [1, 2],
        PromptLength = 1,
        LossMask = [0, 1],
        Logprobs = [0, -1],
        Entropies = [0, 1],
        PolicyVersions = [-1, 0],
        FinishReason = FinishReason.Eos,
        ReplayMismatches = mismatches,
        InitialEntropy = 2,
        EntropyAfterToolResults = [.. tools.Select(_ => 1f)],
        ToolCalls = [.. tools.Select(t => new ToolCallRecord(t, "{}", "1", false, null, 0, 0, 0))],
    };

    [Fact]
    public void Compute_TwoTrees_PerPromptMeansDepthsPercentilesAndToolCounts()
    {
        EpisodeResult[] groups =
        [
            new("a", [Make("0", 0, 0, "calc"), Make("0.0", 1, 1, "calc", "calc")], 1, new BranchingStats(1, 3, 2, 1, 0, 2, [0.0, 1.0, 2.0])),
            new("b", [Make("0"), Make("1")], 1, new BranchingStats(2, 1, 0, 0, 0, 1, [3.0])),
        ];

        var m = BranchingMetrics.Compute(groups, ["calc", "kb-search"]);

        Assert.Equal(0.5, m["rollout/branches_per_prompt"]);
        Assert.Equal(0.5, m["branching/forks_refused"]);
        Assert.Equal(2.0, m["branching/fork_points"]);
        Assert.Equal(1.5, m["branching/initial_trajectories"]);
        Assert.Equal(0.25, m["branching/depth_mean"]);
        Assert.Equal(1.0, m["branching/depth_max"]);
        Assert.Equal(1.5, m["branching/delta_entropy_mean"]);
        Assert.Equal(1.5, m["branching/delta_entropy_p50"], 9);
        Assert.Equal(0.3, m["branching/delta_entropy_p10"], 9);
        Assert.Equal(1.0, m["branching/replay_mismatches"]);
        Assert.Equal(0.75, m["tools/calls_by_tool/calc"]);
        Assert.Equal(0.0, m["tools/calls_by_tool/kb-search"]);   // a catalog tool not called still has its series
        Assert.Equal(0.0, m["tools/calls_by_tool/unknown"]);
        Assert.Equal(2.0, m["rollout/entropy_initial"]);
        Assert.Equal(1.0, m["rollout/entropy_after_tool"]);
    }

    [Fact]
    public void Compute_PlainGroups_ZeroBranchesAndNoTreeMetrics()
    {
        var m = BranchingMetrics.Compute([new EpisodeResult("a", [Make("0"), Make("1")], 1)], ["calc"]);

        Assert.Equal(0.0, m["rollout/branches_per_prompt"]);
        Assert.DoesNotContain(m.Keys, k => k.StartsWith("branching/", StringComparison.Ordinal));
    }

    [Fact]
    public void Compute_CallsOfNamesOutsideTheCatalog_CountUnderUnknownOnly()
    {
        EpisodeResult[] groups =
        [
            new("a", [Make("0", 0, 0, "calculator-evaluate", "calcator- 1evaluate"), Make("1", 0, 0, ":", "calculator-evaluate")], 1),
        ];

        var m = BranchingMetrics.Compute(groups, ["calculator-evaluate"]);

        Assert.Equal(
            ["tools/calls_by_tool/calculator-evaluate", "tools/calls_by_tool/unknown"],
            m.Keys.Where(k => k.StartsWith(BranchingMetrics.CallsByToolPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal(1.0, m["tools/calls_by_tool/calculator-evaluate"]);
        Assert.Equal(1.0, m[BranchingMetrics.UnknownToolCalls]);
    }
}
