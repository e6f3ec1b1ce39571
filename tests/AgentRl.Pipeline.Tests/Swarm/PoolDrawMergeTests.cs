using AgentRl.Abstractions.Swarm;
using AgentRl.Pipeline.Swarm;
using static AgentRl.Pipeline.Tests.Swarm.SharedGroupFixtures;

namespace AgentRl.Pipeline.Tests.Swarm;

public sealed class PoolDrawMergeTests
{
    [Fact]
    public void Merge_Uniform_PicksShardsInProportionToTheirEligibleGroups()
    {
        // Shard 0 has 3 eligible groups, shard 1 has 27: over many seeds 10 % of the picks come from shard 0.
        var small = new PoolDrawResult([.. Enumerable.Range(0, 3).Select(i => Group(i, producer: "s0"))], 3);
        var large = new PoolDrawResult([.. Enumerable.Range(3, 4).Select(i => Group(i, producer: "s1"))], 27);
        var fromSmall = 0;
        for (var seed = 0; seed < 2000; seed++)
        {
            var merged = PoolDrawMerge.Merge([small, large], 1, "uniform", seed);
            fromSmall += merged.Count(g => g.ProducerRunId == "s0");
        }

        Assert.InRange(fromSmall / 2000.0, 0.07, 0.13);
    }

    [Fact]
    public void Merge_TakesNoMoreThanAsked_NoMoreThanTheShardsGave_AndNoGroupTwice()
    {
        var a = new PoolDrawResult([Group(0, producer: "a"), Group(1, producer: "a")], 10);
        var b = new PoolDrawResult([Group(2, producer: "b")], 1);

        Assert.Equal(2, PoolDrawMerge.Merge([a, b], 2, "uniform", 3).Count);
        var all = PoolDrawMerge.Merge([a, b], 10, "informative-uniform", 3);
        Assert.Equal(3, all.Count);
        Assert.Equal(3, all.Select(g => g.GroupId).Distinct().Count());
        Assert.Empty(PoolDrawMerge.Merge([], 4, "uniform", 1));
    }

    [Fact]
    public void Merge_Recent_TakesTheNewestAcrossShards()
    {
        var a = new PoolDrawResult([Group(0, producer: "a", step: 5), Group(1, producer: "a", step: 2)], 2);
        var b = new PoolDrawResult([Group(2, producer: "b", step: 4)], 1);

        Assert.Equal([5, 4], PoolDrawMerge.Merge([a, b], 2, "recent", 0).Select(g => g.Step));
    }
}
