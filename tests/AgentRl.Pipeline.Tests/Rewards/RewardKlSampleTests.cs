using AgentRl.Pipeline.Rewards;

namespace AgentRl.Pipeline.Tests.Rewards;

/// <summary>The KL of a step's parts merged into the one sample its KL controller is updated with.</summary>
public sealed class RewardKlSampleTests
{
    [Fact]
    public void Merge_WeighsEachPartsMeanByItsTrajectories_AndNullIsNoPart()
    {
        var own = new RewardKlSample(0.2, 4);
        var external = new RewardKlSample(0.5, 2);

        Assert.Equal(new RewardKlSample(((0.2 * 4) + (0.5 * 2)) / 6, 6), RewardKlSample.Merge(own, external));
        Assert.Same(own, RewardKlSample.Merge(own, null));
        Assert.Same(external, RewardKlSample.Merge(null, external));
        Assert.Null(RewardKlSample.Merge(null, null));
        Assert.Equal(new RewardKlSample(0, 0), RewardKlSample.Merge(new RewardKlSample(0, 0), new RewardKlSample(0, 0)));
    }
}
