using AgentRl.Policy.Branching;

namespace AgentRl.Policy.Tests.Branching;

public sealed class BranchPolicyTests
{
    private const int Draws = 20_000;

    private static double EmpiricalRate(IBranchPolicy policy, BranchContext context, int seed)
    {
        var random = new Random(seed);
        var hits = 0;
        for (var i = 0; i < Draws; i++)
        {
            if (policy.ShouldBranch(context, random))
            {
                hits++;
            }
        }

        return (double)hits / Draws;
    }

    private static void AssertWithinBinomial(double expected, double observed)
    {
        var sigma = Math.Sqrt(expected * (1 - expected) / Draws);
        Assert.InRange(observed, expected - (4 * sigma) - 1e-12, expected + (4 * sigma) + 1e-12);
    }

    [Theory]
    [InlineData(0.8, 0.66)]
    [InlineData(-1.0, 0.30)]
    [InlineData(0.0, 0.50)]
    [InlineData(3.0, 1.0)]
    [InlineData(-3.0, 0.0)]
    public void Arpo_FixedSeed_EmpiricalForkRateMatchesClippedProbability(double entropyDelta, double expected)
    {
        var policy = new ArpoBranchPolicy(alpha: 0.5, beta: 0.2);
        var context = new BranchContext(entropyDelta);
        Assert.Equal(expected, policy.BranchProbability(context), 12);
        AssertWithinBinomial(expected, EmpiricalRate(policy, context, seed: 1234));
    }

    [Theory]
    [InlineData(0.5, 0, 0.6)]      // 1 − 0.5/1 + 0.1
    [InlineData(0.5, 4, 0.475)]    // 1 − 0.5/0.8 + 0.1
    [InlineData(0.0, 10, 0.0)]     // 1 − 0.5/0.5
    [InlineData(2.0, 10, 0.4)]     // 1 − 1 + 0.4
    [InlineData(5.0, 20, 0.0)]     // factor 0: p = 0 < τ
    public void Aepo_ConsecutivePenalty_EmpiricalRateMatchesHandProbability(double entropyDelta, int rounds, double expected)
    {
        var policy = new AepoBranchPolicy(beta: 0.2, tau: 0.5, consecutivePenalty: 0.05);
        var context = new BranchContext(entropyDelta, rounds);
        Assert.Equal(expected, policy.BranchProbability(context), 12);
        AssertWithinBinomial(expected, EmpiricalRate(policy, context, seed: 99));
    }

    [Fact]
    public void Aepo_PenaltyFactor_MatchesOneMinusFivePercentPerRound()
    {
        var policy = new AepoBranchPolicy();
        Assert.Equal(1.0, policy.PenaltyFactor(0), 12);
        Assert.Equal(0.85, policy.PenaltyFactor(3), 12);
        Assert.Equal(0.0, policy.PenaltyFactor(25), 12);
    }

    [Theory]
    [InlineData(0.1, 3)]    // P = 0.52 > 0.5
    [InlineData(0.0, 0)]    // P = 0.5, not > 0.5
    [InlineData(-0.1, 0)]   // P = 0.48
    public void ArpoThreshold_Deterministic_ForksAllZChildrenAboveTau(double entropyDelta, int expectedChildren)
    {
        var policy = new ArpoThresholdBranchPolicy(alpha: 0.5, beta: 0.2, tau: 0.5, childrenPerFork: 3);
        Assert.Equal(expectedChildren, policy.ChildrenToRequest(new BranchContext(entropyDelta), new Random(1)));
    }

    [Fact]
    public void Arpo_ZAttempts_MeanChildrenIsZTimesProbability()
    {
        var policy = new ArpoBranchPolicy(alpha: 0.5, beta: 0.2, childrenPerFork: 3);
        var random = new Random(7);
        var context = new BranchContext(0.8);
        var total = 0;
        for (var i = 0; i < Draws; i++)
        {
            var children = policy.ChildrenToRequest(context, random);
            Assert.InRange(children, 0, 3);
            total += children;
        }

        // Sum of 3·20k Bernoulli(0.66) draws.
        var n = 3.0 * Draws;
        var sigma = Math.Sqrt(0.66 * 0.34 / n);
        Assert.InRange(total / n, 0.66 - (4 * sigma), 0.66 + (4 * sigma));
    }

    [Fact]
    public void Create_ByName_ReturnsEachRuleAndRejectsUnknown()
    {
        foreach (var name in BranchPolicies.Names)
        {
            Assert.Equal(name, BranchPolicies.Create(new BranchingOptions { BranchPolicy = name }).Name);
        }

        Assert.Equal(0, BranchPolicies.Create(new BranchingOptions { BranchPolicy = "none" }).ChildrenToRequest(new BranchContext(100), new Random(1)));
        Assert.Throws<ArgumentException>(() => BranchPolicies.Create(new BranchingOptions { BranchPolicy = "coin" }));
    }
}
