using AgentRl.Pipeline.Rollouts;

namespace AgentRl.Pipeline.Tests.Rollouts;

public sealed class StalenessManagerTests
{
    /// <summary>
    /// The staleness bound as a property: many simulated runs with random, heavy-tailed episode latencies and training
    /// times. Every token an episode generates carries the version current when it was generated (≥ its admission
    /// version, as the engines guarantee); at each batch, no trained token is older than η, every batch has B groups, and
    /// the run trains every slot exactly once.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void NoConsumedTokenIsStalerThanEta_UnderRandomLatencies(int eta)
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random((seed * 31) + eta);
            var (batch, steps) = (random.Next(1, 6), random.Next(3, 12));
            var maxConcurrent = random.Next(3) == 0 ? random.Next(1, batch * (eta + 1) + 1) : 0;
            var result = Simulate(new StalenessManager(batch, eta, maxConcurrent, (long)batch * steps), random, steps);
            Assert.True(result.MaxTokenStaleness <= eta, $"seed {seed}: a token {result.MaxTokenStaleness} versions old was trained with η = {eta}");
            Assert.Equal(Enumerable.Range(0, batch * steps).Select(i => (long)i), result.Consumed.Order());
            Assert.All(result.Batches, b => Assert.Equal(batch, b.Count));
            Assert.True(result.MaxUnconsumed <= (eta + 1) * batch, $"seed {seed}: {result.MaxUnconsumed} admitted groups unconsumed, above (η + 1)·B = {(eta + 1) * batch}");
            Assert.True(maxConcurrent == 0 || result.MaxRunning <= maxConcurrent, $"seed {seed}: {result.MaxRunning} running, above maxConcurrent {maxConcurrent}");
        }
    }

    /// <summary>APRIL's over-provisioning: never more than ⌈ρ·B⌉ groups started and untrained, and still within η.</summary>
    [Theory]
    [InlineData(1.5, 2)]
    [InlineData(2.0, 1)]
    [InlineData(3.0, 4)]
    public void OverSampling_CapsTheGroupsStartedAndNotTrained(double overSampling, int eta)
    {
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var (batch, steps) = (random.Next(1, 6), random.Next(3, 10));
            var cap = (int)Math.Ceiling(overSampling * batch);
            var result = Simulate(new StalenessManager(batch, eta, 0, (long)batch * steps, cap), random, steps);
            Assert.True(result.MaxUnconsumed <= cap, $"seed {seed}: {result.MaxUnconsumed} started and untrained, above ⌈ρ·B⌉ = {cap}");
            Assert.True(result.MaxTokenStaleness <= eta);
            Assert.Equal(Enumerable.Range(0, batch * steps).Select(i => (long)i), result.Consumed.Order());
        }
    }

    /// <summary>With slow episodes and η ≥ 1, some batches do take groups out of order: the bound is not vacuous.</summary>
    [Fact]
    public void OutOfOrderBatchesHappen_AndStayInsideTheBound()
    {
        var outOfOrder = 0;
        for (var seed = 0; seed < 20; seed++)
        {
            var result = Simulate(new StalenessManager(4, 2, 0, 4 * 10), new Random(seed), 10);
            outOfOrder += result.Batches.Count(b => b.Max() - b.Min() >= 4);
            Assert.True(result.MaxTokenStaleness <= 2);
        }

        Assert.True(outOfOrder > 0, "no batch mixed groups of different steps: the simulation never exercised asynchrony");
    }

    /// <summary>η = 0 is the synchronous run: batch v is exactly the groups of step v + 1, whatever the completion order.</summary>
    [Fact]
    public void EtaZero_TakesTheSynchronousBatches()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var result = Simulate(new StalenessManager(3, 0, 0, 3 * 6), new Random(seed), 6);
            Assert.Equal(Enumerable.Range(0, 6).Select(v => Enumerable.Range(v * 3, 3).Select(i => (long)i).ToList()), result.Batches);
        }
    }

    [Fact]
    public void Capacity_IsTheAReaLRule()
    {
        var manager = new StalenessManager(batchSize: 2, maxStaleness: 1, maxConcurrent: 0, totalSlots: 100);
        Assert.Equal(4, manager.Capacity);                          // (η + v + 1)·B − 0 = 4
        var admitted = Enumerable.Range(0, 4).Select(_ => manager.TryAdmit()!.Value).ToList();
        Assert.Null(manager.TryAdmit());
        manager.Complete(admitted[1]);
        Assert.Equal(0, manager.Capacity);                          // accepted + running still 4
        Assert.Null(manager.TryTakeBatch());                        // one finished, B = 2
        manager.Complete(admitted[3]);
        Assert.Equal([1L, 3L], manager.TryTakeBatch());             // η = 1: the version-0 slots 0 and 2 may wait a version
        Assert.Equal(0, manager.CarriedOver);
        manager.AdvanceVersion();
        Assert.Equal(2, manager.Capacity);                          // (1 + 1 + 1)·2 − 4
        var limited = new StalenessManager(batchSize: 4, maxStaleness: 2, maxConcurrent: 3, totalSlots: 100);
        Assert.Equal(3, limited.Capacity);                          // min(3 − 0, 12)
    }

    [Fact]
    public void AStaleGroupStillRunning_HoldsTheBatch()
    {
        var manager = new StalenessManager(batchSize: 1, maxStaleness: 1, maxConcurrent: 0, totalSlots: 10);
        var (slow, fast) = (manager.TryAdmit()!.Value, manager.TryAdmit()!.Value);   // both at version 0
        manager.Complete(fast);
        Assert.Equal([fast], manager.TryTakeBatch());
        manager.AdvanceVersion();                                   // v = 1: slot 0 was admitted at 1 − η = 0, so it must come now
        var next = manager.TryAdmit()!.Value;
        manager.Complete(next);
        Assert.Null(manager.TryTakeBatch());                        // slot 2 is finished, but slot 0 would grow too stale
        manager.Complete(slow);
        Assert.Equal([slow], manager.TryTakeBatch());
        Assert.Equal(1, manager.CarriedOver);                       // admitted at version 0, trained at version 1
    }

    /// <summary>
    /// A checkpoint mid-run and a restore: accepted is v·B (no capacity inflated by what was in flight), the slots in flight
    /// or finished-but-untrained at the checkpoint are admitted again first, and over both halves every slot is trained once.
    /// </summary>
    [Fact]
    public void Restore_ReadmitsWhatWasInFlight_AndTrainsEverySlotOnce()
    {
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var (batch, eta, steps) = (random.Next(1, 5), random.Next(0, 4), random.Next(4, 10));
            var total = (long)batch * steps;
            var cut = random.Next(1, steps);
            var first = Simulate(new StalenessManager(batch, eta, 0, total), random, cut, out var before);
            var state = before.Snapshot();
            var restored = StalenessManager.Restore(batch, eta, 0, total, state);
            Assert.Equal((long)cut * batch, restored.Accepted);
            Assert.Equal(0, restored.Running);
            Assert.Equal(Math.Min((eta + 1) * batch, total - (cut * batch)), restored.Capacity);
            var inFlightAtCut = Enumerable.Range(0, (int)state.NextSlot).Select(i => (long)i).Except(first.Consumed).ToList();
            var second = Simulate(restored, random, steps - cut);
            Assert.Equal(Enumerable.Range(0, (int)total).Select(i => (long)i), first.Consumed.Concat(second.Consumed).Order());
            Assert.Equal(inFlightAtCut.Count, restored.Restarted);
            Assert.True(second.MaxTokenStaleness <= eta);
        }
    }

    [Fact]
    public void Restore_RejectsAStateWhoseCountsDisagree()
    {
        var state = new AgentRl.Abstractions.Training.AsyncRolloutState { ConsumedFrontier = 3, NextSlot = 5, Version = 2 };
        var error = Assert.Throws<InvalidOperationException>(() => StalenessManager.Restore(2, 1, 0, 20, state));
        Assert.Contains("3 consumed groups at version 2", error.Message);
    }

    [Fact]
    public void OneBatchPerVersion()
    {
        var manager = new StalenessManager(1, 0, 0, 4);
        manager.Complete(manager.TryAdmit()!.Value);
        Assert.NotNull(manager.TryTakeBatch());
        Assert.Throws<InvalidOperationException>(() => manager.TryTakeBatch());
        manager.AdvanceVersion();
        Assert.Throws<InvalidOperationException>(() => manager.AdvanceVersion());
    }

    private sealed record Simulation(List<List<long>> Batches, List<long> Consumed, long MaxTokenStaleness, long MaxUnconsumed, int MaxRunning);

    private static Simulation Simulate(StalenessManager manager, Random random, int steps) => Simulate(manager, random, steps, out _);

    /// <summary>
    /// Ticks of simulated time: every running episode generates one token per tick at the current version and finishes
    /// after a heavy-tailed number of ticks; the trainer takes a batch when it can and trains for a random number of ticks,
    /// then advances the version. Admission happens whenever the capacity allows.
    /// </summary>
    private static Simulation Simulate(StalenessManager manager, Random random, int steps, out StalenessManager final)
    {
        var tokens = new Dictionary<long, List<int>>();
        var remaining = new Dictionary<long, int>();
        var batches = new List<List<long>>();
        long maxStaleness = 0, maxUnconsumed = 0;
        var maxRunning = 0;
        var training = -1;   // ticks left in the update; -1 = not training
        var startVersion = manager.Version;
        while (batches.Count < steps)
        {
            while (manager.TryAdmit() is { } slot)
            {
                tokens[slot] = [];
                // Heavy tail: mostly short, sometimes ten times longer.
                remaining[slot] = random.Next(10) == 0 ? random.Next(20, 60) : random.Next(1, 6);
            }

            maxRunning = Math.Max(maxRunning, manager.Running);
            maxUnconsumed = Math.Max(maxUnconsumed, manager.Running + manager.Waiting);
            foreach (var slot in remaining.Keys.ToList())
            {
                tokens[slot].Add(manager.Version);
                if (--remaining[slot] == 0)
                {
                    remaining.Remove(slot);
                    manager.Complete(slot);
                }
            }

            if (training > 0)
            {
                training--;
                continue;
            }

            if (training == 0)
            {
                manager.AdvanceVersion();
                training = -1;
            }

            if (manager.TryTakeBatch() is { } taken)
            {
                batches.Add([.. taken]);
                maxStaleness = Math.Max(maxStaleness, taken.Max(s => manager.Version - tokens[s].Min()));
                training = random.Next(0, 8);
            }
        }

        if (training >= 0)
        {
            manager.AdvanceVersion();
        }

        Assert.Equal(startVersion + steps, manager.Version);
        final = manager;
        return new Simulation(batches, [.. batches.SelectMany(b => b)], maxStaleness, maxUnconsumed, maxRunning);
    }
}
