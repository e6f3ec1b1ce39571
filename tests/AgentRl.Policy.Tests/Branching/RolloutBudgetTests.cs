using System.Collections.Concurrent;
using AgentRl.Policy.Branching;

namespace AgentRl.Policy.Tests.Branching;

public sealed class RolloutBudgetTests
{
    [Fact]
    public void AepoPreMonitor_HandEntropies_GivesFlooredSigmoidSplit()
    {
        // H̄_tool = 0.8, σ(0.5·(2.0 − 0.8)) = σ(0.6) = 0.645656; ⌊16·0.645656⌋ + 1 = 10 + 1.
        var allocator = new AepoPreMonitorAllocator(beta: 0.5);
        Assert.Equal(11, allocator.InitialTrajectories(16, new PreMonitorEntropy(2.0, [1.0, 0.6])));
        // No tool segments: H̄ = H_root, σ(0) = 0.5 → 8 + 1.
        Assert.Equal(9, allocator.InitialTrajectories(16, new PreMonitorEntropy(0.7, [])));
        // Clamped to [1, M].
        Assert.Equal(16, allocator.InitialTrajectories(16, new PreMonitorEntropy(200.0, [0.0])));
        Assert.Equal(1, allocator.InitialTrajectories(16, new PreMonitorEntropy(0.0, [200.0])));
    }

    [Fact]
    public void Create_WithPreMonitor_StartsTheAllocatedInitialTrajectories()
    {
        var options = new BranchingOptions { BudgetAllocator = "aepo-premonitor" };
        var budget = RolloutBudget.Create(options, new PreMonitorEntropy(2.0, [1.0, 0.6]));
        Assert.Equal(11, budget.InitialTrajectories);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], budget.InitialNodes.Select(n => n.Path));
        Assert.Equal(5, budget.Remaining);
        Assert.Equal(8, RolloutBudget.Create(new BranchingOptions()).InitialTrajectories);
    }

    [Fact]
    public void Forks_NestedRequests_RecordPathsParentsDepthsAndPositions()
    {
        var budget = new RolloutBudget(totalTrajectories: 6, initialTrajectories: 2);
        var first = budget.TryReserveForks("0", forkPosition: 12, children: 2);
        Assert.Equal(["0.0", "0.1"], first.Select(n => n.Path));
        var grandchild = Assert.Single(budget.TryReserveForks("0.1", forkPosition: 30));
        Assert.Equal(new RolloutNode("0.1.0", "0.1", 30, 2, RolloutNodeKind.Fork, 4), grandchild);
        Assert.Empty(RolloutTreeValidator.Validate(budget.Nodes, 6));
        Assert.Equal(1, budget.Remaining);
        Assert.Single(budget.TryReserveForks("1", 5, children: 3));
        Assert.Empty(budget.TryReserveForks("1", 5));
        Assert.Throws<ArgumentException>(() => budget.TryReserveForks("9", 5));
    }

    [Fact]
    public void ResolveRound_RankingOn_GrantsHighestEntropyDeltaFirst()
    {
        var budget = new RolloutBudget(totalTrajectories: 5, initialTrajectories: 3, rankForksByEntropy: true);
        budget.ProposeFork(new ForkCandidate("0", 10, EntropyDelta: 0.1));
        budget.ProposeFork(new ForkCandidate("1", 11, EntropyDelta: 0.9));
        budget.ProposeFork(new ForkCandidate("2", 12, EntropyDelta: 0.5));
        Assert.Equal(["1.0", "2.0"], budget.ResolveRound().Select(n => n.Path));
        Assert.Empty(budget.ResolveRound());
    }

    [Fact]
    public void ResolveRound_RankingOff_GrantsInSlotOrderLikeTheReference()
    {
        var budget = new RolloutBudget(totalTrajectories: 5, initialTrajectories: 3, rankForksByEntropy: false);
        budget.ProposeFork(new ForkCandidate("2", 12, EntropyDelta: 0.5));
        budget.ProposeFork(new ForkCandidate("1", 11, EntropyDelta: 0.9));
        budget.ProposeFork(new ForkCandidate("0", 10, EntropyDelta: 0.1));
        Assert.Equal(["0.0", "1.0"], budget.ResolveRound().Select(n => n.Path));
    }

    [Fact]
    public void Budget_ConcurrentForkRequests_NeverExceedsM()
    {
        const int total = 16;
        const int workers = 4;
        for (var trial = 0; trial < 2000; trial++)
        {
            var budget = new RolloutBudget(total, initialTrajectories: 8);
            var granted = new ConcurrentBag<RolloutNode>();
            using var start = new Barrier(workers);
            // Dedicated threads behind a barrier so the requests really race (Parallel.For may run them one by one).
            var threads = Enumerable.Range(0, workers).Select(w => new Thread(() =>
            {
                var random = new Random((trial * workers) + w);
                start.SignalAndWait();
                for (var i = 0; i < 16; i++)
                {
                    var parent = RolloutNode.RootPath(random.Next(8));
                    var nodes = (i + w) % 2 == 0
                        ? budget.TryReserveForks(parent, random.Next(100), children: 1 + random.Next(3))
                        : ProposeAndResolve(budget, new ForkCandidate(parent, random.Next(100), random.NextDouble(), 1 + random.Next(3)));
                    foreach (var node in nodes)
                    {
                        granted.Add(node);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.Equal(total, budget.Created);
            Assert.Equal(total - 8, granted.Count);
            Assert.Equal(total, granted.Concat(budget.InitialNodes).Select(n => n.Path).Distinct().Count());
            Assert.Empty(RolloutTreeValidator.Validate(budget.Nodes, total));
        }
    }

    [Fact]
    public void Budget_ParallelForRequests_GrantsExactlyTheForkBudget()
    {
        var budget = new RolloutBudget(totalTrajectories: 16, initialTrajectories: 8);
        var granted = new ConcurrentBag<RolloutNode>();
        Parallel.For(0, 2000, i =>
        {
            var random = new Random(i);
            var parent = RolloutNode.RootPath(random.Next(8));
            var nodes = i % 2 == 0
                ? budget.TryReserveForks(parent, random.Next(100), children: 1 + random.Next(3))
                : ProposeAndResolve(budget, new ForkCandidate(parent, random.Next(100), random.NextDouble(), 1 + random.Next(3)));
            foreach (var node in nodes)
            {
                granted.Add(node);
            }
        });
        Assert.Equal(16, budget.Created);
        Assert.Equal(8, granted.Count);
        Assert.Empty(RolloutTreeValidator.Validate(budget.Nodes, 16));
    }

    private static IReadOnlyList<RolloutNode> ProposeAndResolve(RolloutBudget budget, ForkCandidate candidate)
    {
        budget.ProposeFork(candidate);
        return budget.ResolveRound();
    }

    [Fact]
    public void ReserveTopUps_AllPathsEndedWithBudgetLeft_AddsFreshRoots()
    {
        var budget = new RolloutBudget(totalTrajectories: 5, initialTrajectories: 2);
        Assert.Single(budget.TryReserveForks("0", 3));
        budget.MarkFinished("0");
        budget.MarkFinished("0.0");
        Assert.Empty(budget.ReserveTopUps()); // "1" still running
        budget.MarkFinished("1");
        var first = Assert.Single(budget.ReserveTopUps(maxCount: 1));
        Assert.Equal(new RolloutNode("2", null, 0, 0, RolloutNodeKind.TopUp, 3), first);
        Assert.Empty(budget.ReserveTopUps()); // "2" is running
        budget.MarkFinished("2");
        Assert.Equal(["3"], budget.ReserveTopUps().Select(n => n.Path));
        budget.MarkFinished("3");
        Assert.Empty(budget.ReserveTopUps());
        var group = budget.Assemble();
        Assert.Equal(["0", "1", "0.0", "2", "3"], group.Members);
        Assert.Equal((0, 0), (group.Shortfall, group.DuplicatedCount));
    }

    [Fact]
    public void Assemble_ShortGroup_ForbidsPaddingByDefaultAndReportsCopies()
    {
        var budget = new RolloutBudget(totalTrajectories: 4, initialTrajectories: 2);
        budget.MarkFinished("0");
        Assert.Throws<InvalidOperationException>(() => budget.Assemble(ShortGroupPolicy.AllowShort)); // "1" running
        budget.MarkFinished("1");
        Assert.Throws<InvalidOperationException>(() => budget.Assemble());
        var shortGroup = budget.Assemble(ShortGroupPolicy.AllowShort);
        Assert.Equal(["0", "1"], shortGroup.Members);
        Assert.Equal((2, 0), (shortGroup.Shortfall, shortGroup.DuplicatedCount));
        var padded = budget.Assemble(ShortGroupPolicy.DuplicateLast);
        Assert.Equal(["0", "1", "1", "1"], padded.Members);
        Assert.Equal(2, padded.DuplicatedCount);
    }

    [Fact]
    public void EndRound_GrowthStreak_CountsConsecutiveBranchRounds()
    {
        var budget = new RolloutBudget(totalTrajectories: 8, initialTrajectories: 2);
        budget.EndRound();
        Assert.Equal(0, budget.ConsecutiveBranchRounds);
        budget.TryReserveForks("0", 1);
        budget.EndRound();
        budget.TryReserveForks("1", 1);
        budget.EndRound();
        Assert.Equal(2, budget.ConsecutiveBranchRounds);
        budget.EndRound(batchGrew: false); // reference: no update when the batch did not grow
        Assert.Equal(2, budget.ConsecutiveBranchRounds);
        budget.EndRound();
        Assert.Equal(0, budget.ConsecutiveBranchRounds);
    }

    [Fact]
    public void Baselines_PerBudget_FirstSegmentIsBaselineAndStepsDoNotLeak()
    {
        var step1 = new RolloutBudget(16, 8);
        Assert.Equal(0.0, step1.Baselines.Delta("0", 1.5));
        Assert.Equal(0.5, step1.Baselines.Delta("0", 2.0), 12);
        Assert.Equal(0.0, step1.Baselines.Delta("0.0", 3.0)); // a child gets its own baseline
        var step2 = new RolloutBudget(16, 8);
        Assert.Equal(0.0, step2.Baselines.Delta("0", 4.0));
    }
}
