using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class TruncatedImportanceTests
{
    [Fact]
    public void Weights_HandComputed_MinOfRatioAndC_OnGeneratedTokensOnly()
    {
        float[] receiver = [0f, -1.0f, -0.2f, -3.0f, -0.7f, -5f];
        float[] producer = [0f, -1.5f, -2.0f, -1.0f, -0.7f, -0.1f];
        byte[] mask = [0, 1, 1, 1, 1, 0];

        var weights = TruncatedImportance.Weights(receiver, producer, mask, clip: 2.0);

        // exp(0.5) = 1.648721; exp(1.8) = 6.0496 → c = 2; exp(-2) = 0.1353353; exp(0) = 1; mask 0 → 1.
        Assert.Equal(1f, weights[0]);
        Assert.Equal(1.648721f, weights[1], 5);
        Assert.Equal(2f, weights[2]);
        Assert.Equal(0.1353353f, weights[3], 6);
        Assert.Equal(1f, weights[4], 6);
        Assert.Equal(1f, weights[5]);
    }

    [Fact]
    public void Weights_HugeRatio_StaysFiniteAtC_AndBadInputIsRefused()
    {
        Assert.Equal(3f, TruncatedImportance.Weights([-0.01f, 0f], [-500f, 0f], [1, 0], 3.0)[0]);
        Assert.Throws<ArgumentException>(() => TruncatedImportance.Weights([0f], [0f, 0f], [1, 1], 2.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedImportance.Weights([0f], [0f], [1], 0.5));
    }
}
