using AgentRl.Policy.Branching;

namespace AgentRl.Policy.Tests.Branching;

public sealed class BranchingSessionTests
{
    private static SegmentEntropyInput Segment(double entropy) => new(TokenEntropies: Enumerable.Repeat(entropy, 20).ToArray());

    [Fact]
    public void Evaluate_ThresholdRule_ForksOnlyWhenEntropyRisesEnough()
    {
        var session = new BranchingSession(new BranchingOptions { BranchPolicy = "arpo-threshold", ChildrenPerFork = 2 }, new Random(1));
        Assert.Null(session.Evaluate("0", 10, Segment(1.0)));            // first segment: ΔH = 0, P = 0.5, not > τ
        Assert.Null(session.Evaluate("0", 20, Segment(0.5)));            // ΔH = −0.5
        var candidate = session.Evaluate("0", 30, Segment(1.5));          // ΔH = 0.5, P = 0.6
        Assert.Equal(new ForkCandidate("0", 30, 0.5, 2), candidate);
    }

    [Fact]
    public void RequestFork_BudgetSpent_GrantsNothingMore()
    {
        var options = new BranchingOptions { BranchPolicy = "arpo-threshold", TotalTrajectories = 3, InitialTrajectories = 2, ChildrenPerFork = 2 };
        var session = new BranchingSession(options, new Random(1));
        session.Measure("1", Segment(0.0));
        Assert.Equal(["1.0"], session.RequestFork("1", 40, Segment(1.0)).Select(n => n.Path));
        session.Measure("0", Segment(0.0));
        Assert.Empty(session.RequestFork("0", 40, Segment(1.0)));
        Assert.Equal(3, session.Budget.Created);
    }

    [Fact]
    public void Propose_LockstepRound_GrantsByEntropyRank()
    {
        var options = new BranchingOptions { BranchPolicy = "arpo-threshold", TotalTrajectories = 4, InitialTrajectories = 3 };
        var session = new BranchingSession(options, new Random(1));
        foreach (var path in new[] { "0", "1", "2" })
        {
            session.Measure(path, Segment(1.0));
        }

        session.Propose("0", 5, Segment(1.6));
        session.Propose("1", 5, Segment(2.0));
        session.Propose("2", 5, Segment(1.8));
        Assert.Equal(["1.0"], session.Budget.ResolveRound().Select(n => n.Path));
    }
}
