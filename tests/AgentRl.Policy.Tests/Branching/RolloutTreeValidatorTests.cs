using AgentRl.Policy.Branching;

namespace AgentRl.Policy.Tests.Branching;

public sealed class RolloutTreeValidatorTests
{
    private static RolloutNode Root(string path, int order) => new(path, null, 0, 0, RolloutNodeKind.Initial, order);

    private static RolloutNode Fork(string path, string parent, int position, int depth, int order) =>
        new(path, parent, position, depth, RolloutNodeKind.Fork, order);

    [Fact]
    public void Validate_ConsistentTree_ReportsNothing()
    {
        RolloutNode[] nodes = [Root("0", 0), Root("1", 1), Fork("0.0", "0", 5, 1, 2), Fork("0.0.0", "0.0", 9, 2, 3)];
        Assert.Empty(RolloutTreeValidator.Validate(nodes, budget: 4));
    }

    [Fact]
    public void Validate_MissingParent_ReportsOrphan()
    {
        RolloutNode[] nodes = [Root("0", 0), Fork("0.0", "0", 5, 1, 1), Fork("7.0", "7", 5, 1, 2)];
        var errors = RolloutTreeValidator.Validate(nodes, budget: 4);
        Assert.Single(errors);
        Assert.StartsWith("orphan: '7.0'", errors[0], StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => RolloutTreeValidator.ThrowIfInvalid(nodes, 4));
    }

    [Fact]
    public void Validate_ParentLinksLoop_ReportsCycle()
    {
        RolloutNode[] nodes = [Root("0", 0), Fork("0.0", "0.0.0", 5, 1, 1), Fork("0.0.0", "0.0", 9, 2, 2)];
        var errors = RolloutTreeValidator.Validate(nodes, budget: 4);
        Assert.Contains(errors, e => e.StartsWith("cycle:", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.StartsWith("orphan:", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_OverBudgetAndBadForkPosition_ReportsBoth()
    {
        RolloutNode[] nodes = [Root("0", 0), Root("1", 1), Fork("0.0", "0", 50, 1, 2)];
        var lengths = new Dictionary<string, int> { ["0"] = 40, ["1"] = 10, ["0.0"] = 60 };
        var errors = RolloutTreeValidator.Validate(nodes, budget: 2, lengths);
        Assert.Contains(errors, e => e.StartsWith("budget:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("fork: '0.0' forks at 50, beyond parent length 40", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_PathNotExtendingParentOrWrongDepth_Reported()
    {
        RolloutNode[] nodes = [Root("0", 0), Root("1", 1), Fork("1.0", "0", 5, 1, 2), Fork("0.0", "0", 5, 3, 3)];
        var errors = RolloutTreeValidator.Validate(nodes, budget: 4);
        Assert.Contains(errors, e => e.StartsWith("path: '1.0'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("depth: '0.0'", StringComparison.Ordinal));
    }
}
