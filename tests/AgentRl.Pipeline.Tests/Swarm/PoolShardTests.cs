using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Swarm;
using AgentRl.Pipeline.Swarm;
using AgentRl.Tasks;
using static AgentRl.Pipeline.Tests.Swarm.SharedGroupFixtures;

namespace AgentRl.Pipeline.Tests.Swarm;

public sealed class PoolShardTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 13, 0, 0, DateTimeKind.Utc);

    private static PoolShard Shard(int capacity = 100, int maxGroupSize = 8, TimeSpan? maxAge = null, int maxAgeSteps = 0, int maxChars = 65_536)
    {
        var limits = new PoolLimits { ShardCapacity = capacity, MaxGroupSize = maxGroupSize, MaxAge = maxAge ?? TimeSpan.FromDays(1), MaxAgeSteps = maxAgeSteps, MaxCompletionChars = maxChars };
        return new PoolShard(limits, new SharedGroupValidator(TaskRegistry.CreateDefault(), limits));
    }

    private static PoolDraw DrawFor(string receiver, int count = 100, string select = "uniform", int minStep = 0, string task = "arithmetic") =>
        new(count, receiver, task, select, minStep, Seed: 1);

    /// <summary>
    /// A group carries no task options: a task that cannot be built without them (<c>jsonl</c> needs its <c>path</c>) is
    /// still stored, its item left to the receivers (they rescore with their own task and options).
    /// </summary>
    [Fact]
    public void Publish_GroupOfATaskThatNeedsOptions_IsStored()
    {
        var group = Group(0) with
        {
            Task = "jsonl",
            ItemJson = """{"id":"jsonl-1","task":"jsonl","split":"train","prompt":"What is 2+2?","answer":"4"}""",
        };

        var result = Shard().Publish([group], Now);

        Assert.Equal(1, result.Accepted);
    }

    [Fact]
    public void Publish_OverCapacity_EvictsTheOldestFirst()
    {
        var shard = Shard(capacity: 3);
        var result = shard.Publish([Group(0, step: 5), Group(1, step: 1), Group(2, step: 3), Group(3, step: 4), Group(4, step: 2)], Now);

        Assert.Equal(new PoolPublishResult(5, 0, 2, 3), result);
        Assert.Equal([3, 4, 5], shard.Groups.Select(g => g.Step).Order());
        Assert.Equal(2, shard.Evicted);
    }

    [Fact]
    public void Publish_GroupsOlderThanTheTimeLimit_AreEvictedBeforeTheCapacityCounts()
    {
        var shard = Shard(capacity: 10, maxAge: TimeSpan.FromMinutes(30));
        var old = Group(0, step: 1, at: Now.AddMinutes(-31));
        var fresh = Group(1, step: 2, at: Now.AddMinutes(-29));

        var result = shard.Publish([old, fresh], Now);

        Assert.Equal(1, result.Evicted);
        Assert.Equal([fresh.GroupId], shard.Groups.Select(g => g.GroupId));
    }

    [Fact]
    public void Publish_GroupsTooManyStepsBehindTheNewest_AreEvicted()
    {
        var shard = Shard(maxAgeSteps: 2);
        shard.Publish([Group(0, step: 1), Group(1, step: 2), Group(2, step: 3)], Now);
        Assert.Equal(3, shard.Count);

        shard.Publish([Group(3, step: 4)], Now);

        Assert.Equal([2, 3, 4], shard.Groups.Select(g => g.Step).Order());
    }

    [Fact]
    public void Publish_SameContentTwice_IsStoredOnce_EvenFromAnotherProducer()
    {
        var shard = Shard();
        shard.Publish([Group(0)], Now);

        var again = shard.Publish([Group(0), Group(0, producer: "run-b", step: 2)], Now);

        Assert.Equal(new PoolPublishResult(0, 2, 0, 1), again);
        Assert.Equal(1, shard.Count);
        Assert.Equal(2, shard.Duplicates);
    }

    [Fact]
    public void Publish_ARedoneStepsGroupUnderTheSameId_ReplacesTheFirst()
    {
        // A step redone after a failure publishes its group again under the same id, with other completions when its
        // generation was not deterministic: the pool keeps the redo only, so a receiver never draws the id twice.
        var shard = Shard();
        var first = Group(0);
        shard.Publish([first, Group(1)], Now);
        var redo = first with { Completions = Group(0, variant: " again").Completions };

        var result = shard.Publish([redo], Now);

        Assert.Equal(new PoolPublishResult(1, 0, 1, 2), result);
        var held = shard.Draw(DrawFor("receiver"), Now).Groups;
        Assert.Equal(2, held.Count);
        Assert.Equal(SharedGroups.ContentHash(redo), SharedGroups.ContentHash(Assert.Single(held, g => g.GroupId == first.GroupId)));
        Assert.Equal((3L, 1L), (shard.Accepted, shard.Evicted));   // accepted = held + evicted still
    }

    [Fact]
    public void Publish_ToAShardEmptiedByEviction_TakesTheNewGroupSize()
    {
        var shard = Shard(maxAge: TimeSpan.FromMinutes(30));
        shard.Publish([Group(0, size: 2, at: Now.AddHours(-1)), Group(1, size: 2)], Now.AddHours(-1));
        Assert.Equal(0, shard.Draw(DrawFor("receiver"), Now).Size);   // both older than 30 minutes by now

        shard.Publish([Group(2, size: 4, at: Now)], Now);

        Assert.Equal(1, shard.Count);
        Assert.Equal(4, shard.GroupSize);
    }

    [Fact]
    public void Publish_DifferentCompletionsOfOneItem_AreDifferentGroups()
    {
        var shard = Shard();
        shard.Publish([Group(0), Group(0, variant: " ")], Now);
        Assert.Equal(2, shard.Count);
    }

    public static TheoryData<string, string> BadGroups() => new()
    {
        { "unknown-task", "unknown task 'no-such-task'" },
        { "item-of-other-task", "not one task item" },
        { "no-completions", "no completions" },
        { "oversize-group", "over the limit of 8" },
        { "wrong-group-size", "this shard holds groups of 2" },
        { "starts-with-tool", "starts with an assistant turn" },
        { "tool-after-user", "a tool result must follow an assistant turn" },
        { "system-turn", "only assistant, tool and user turns" },
        { "two-assistant-turns", "two assistant turns in a row" },
        { "ends-with-user", "cannot end with a user turn" },
        { "bad-call-arguments", "JSON arguments" },
        { "oversize-completion", "over the limit of 65536" },
        { "positive-logprob", "finite and ≤ 0" },
        { "logprobs-without-hash", "need the hash" },
        { "no-producer", "producerRunId" },
    };

    [Theory]
    [MemberData(nameof(BadGroups))]
    public void Publish_ABadGroupAmongGoodOnes_IsRefusedWithItsProblem_AndTheShardIsUnchanged(string kind, string expected)
    {
        var shard = Shard(maxGroupSize: 8);
        shard.Publish([Group(10), Group(11)], Now);
        var before = shard.Contents();
        var good = Group(1);
        var bad = kind switch
        {
            "unknown-task" => good with { Task = "no-such-task" },
            "item-of-other-task" => good with { ItemJson = "{\"not\": \"an item\"}" },
            "no-completions" => good with { Completions = [] },
            "oversize-group" => Group(1, size: 9),
            "wrong-group-size" => Group(1, size: 3),
            "starts-with-tool" => WithMessages(good, [ChatMessage.Tool("calculator-evaluate", "1"), ChatMessage.Assistant("x")]),
            "tool-after-user" => WithMessages(good, [ChatMessage.Assistant("a"), ChatMessage.User("b"), ChatMessage.Tool("calculator-evaluate", "1"), ChatMessage.Assistant("x")]),
            "system-turn" => WithMessages(good, [ChatMessage.Assistant("a"), ChatMessage.System("b"), ChatMessage.Assistant("x")]),
            "two-assistant-turns" => WithMessages(good, [ChatMessage.Assistant("a"), ChatMessage.Assistant("b")]),
            "ends-with-user" => WithMessages(good, [ChatMessage.Assistant("a"), ChatMessage.User("b")]),
            "bad-call-arguments" => WithMessages(good, [ChatMessage.Assistant("", new ToolCall("calculator-evaluate", "{not json")), ChatMessage.Tool("calculator-evaluate", "1"), ChatMessage.Assistant("x")]),
            "oversize-completion" => WithMessages(good, [ChatMessage.Assistant(new string('x', 65_537))]),
            "positive-logprob" => good with { Completions = [.. good.Completions.Select(c => c with { BehaviourLogprobs = [-0.1f, 0.5f], BehaviourTokensHash = "AB" })] },
            "logprobs-without-hash" => good with { Completions = [.. good.Completions.Select(c => c with { BehaviourLogprobs = [-0.1f] })] },
            "no-producer" => good with { ProducerRunId = "" },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var error = Assert.Throws<ArgumentException>(() => shard.Publish([Group(2), bad, Group(3)], Now));

        Assert.Contains("Group 1", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equivalent(before, shard.Contents(), strict: true);
        Assert.Equal(2, shard.Count);
    }

    [Fact]
    public void Draw_NeverHandsAReceiverItsOwnGroups()
    {
        var shard = Shard();
        shard.Publish([.. Enumerable.Range(0, 10).Select(i => Group(i, producer: i % 2 == 0 ? "run-a" : "run-b"))], Now);

        var drawn = shard.Draw(DrawFor("run-a"), Now);

        Assert.Equal(5, drawn.Eligible);
        Assert.Equal(5, drawn.Groups.Count);
        Assert.All(drawn.Groups, g => Assert.Equal("run-b", g.ProducerRunId));
    }

    [Fact]
    public void Draw_GroupsBeforeTheMinimumStep_AreNotDrawn()
    {
        var shard = Shard();
        shard.Publish([.. Enumerable.Range(1, 6).Select(step => Group(step, producer: "run-b", step: step))], Now);

        var drawn = shard.Draw(DrawFor("run-a", minStep: 4), Now);

        Assert.Equal([4, 5, 6], drawn.Groups.Select(g => g.Step).Order());
    }

    [Fact]
    public void Draw_OnlyGroupsOfTheReceiversTask()
    {
        var shard = Shard();
        shard.Publish([Group(0, producer: "run-b")], Now);
        Assert.Empty(shard.Draw(DrawFor("run-a", task: "kb-multihop"), Now).Groups);
    }

    [Fact]
    public void Draw_InformativeUniform_SkipsGroupsWhoseRewardsAreAllEqual()
    {
        var shard = Shard();
        shard.Publish([Group(0, producer: "run-b"), Group(1, producer: "run-b", informative: false), Group(2, producer: "run-b")], Now);

        var drawn = shard.Draw(DrawFor("run-a", select: "informative-uniform"), Now);

        Assert.Equal(2, drawn.Eligible);
        Assert.DoesNotContain(drawn.Groups, g => g.GroupId == Group(1, producer: "run-b").GroupId);
        Assert.Equal(3, shard.Draw(DrawFor("run-a", select: "uniform"), Now).Eligible);
    }

    [Fact]
    public void Draw_Recent_TakesTheNewestSteps()
    {
        var shard = Shard();
        shard.Publish([.. Enumerable.Range(1, 6).Select(step => Group(step, producer: "run-b", step: step))], Now);

        var drawn = shard.Draw(DrawFor("run-a", count: 2, select: "recent"), Now);

        Assert.Equal([6, 5], drawn.Groups.Select(g => g.Step));
    }

    [Fact]
    public void Draw_Uniform_IsASeededSampleWithoutRepeats_CoveringEveryGroupOverSeeds()
    {
        var shard = Shard();
        shard.Publish([.. Enumerable.Range(0, 20).Select(i => Group(i, producer: "run-b"))], Now);
        var seen = new HashSet<string>();
        for (var seed = 0; seed < 40; seed++)
        {
            var drawn = shard.Draw(DrawFor("run-a", count: 4) with { Seed = seed }, Now);
            Assert.Equal(4, drawn.Groups.Select(g => g.GroupId).Distinct().Count());
            Assert.Equal(drawn.Groups.Select(g => g.GroupId), shard.Draw(DrawFor("run-a", count: 4) with { Seed = seed }, Now).Groups.Select(g => g.GroupId));
            seen.UnionWith(drawn.Groups.Select(g => g.GroupId));
        }

        Assert.Equal(20, seen.Count);
    }

    [Fact]
    public void Restore_FromContents_GivesTheSameShard()
    {
        var shard = Shard();
        shard.Publish([Group(0), Group(1, producer: "run-b")], Now);
        var limits = new PoolLimits { ShardCapacity = 100, MaxAge = TimeSpan.FromDays(1) };

        var restored = new PoolShard(limits, new SharedGroupValidator(TaskRegistry.CreateDefault(), limits), shard.Contents());

        Assert.Equivalent(shard.Contents(), restored.Contents(), strict: true);
        Assert.Equal(0, restored.Publish([Group(0)], Now).Accepted);   // its dedup index came back too
    }

    [Fact]
    public void Shards_AreStablePerItem_AndSpreadItemsOverEveryShard()
    {
        var shards = Items.Select(i => PoolShards.Of("arithmetic", ItemJson(i), 4)).ToList();

        Assert.Equal(shards, Items.Select(i => PoolShards.Of("arithmetic", ItemJson(i), 4)));
        Assert.All(Enumerable.Range(0, 4), s => Assert.InRange(shards.Count(x => x == s), 6, 26));   // 64 items: 16 each on average
    }

    private static SharedGroup WithMessages(SharedGroup group, IReadOnlyList<ChatMessage> messages) =>
        group with { Completions = [.. group.Completions.Select((c, i) => i == 0 ? c with { Messages = messages } : c)] };
}
