using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tasks.Rewards;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Pipeline.Tests.Rollouts;

/// <summary>
/// The multi-turn loop with real tools and the real chat template. The "policy" here replays scripted assistant turns
/// (a gold demonstration, or malformed calls), so that the loop's bookkeeping can be checked exactly.
/// </summary>
public sealed class MultiTurnRolloutTests
{
    private readonly ToolCatalog _catalog = new(new ToolCatalogOptions());
    private readonly IChatTemplate _template = ChatTemplates.Create("compact", new ByteLevelTokenizer());
    private readonly TaskRegistry _tasks = TaskRegistry.CreateDefault();

    /// <summary>A bundled task whose demonstrations are all gold (the arithmetic teacher answers none from memory).</summary>
    private IAgentTask GoldTask(string name) =>
        _tasks.Create(name, name == "arithmetic" ? new Dictionary<string, string> { ["teacherMentalShare"] = "0" } : null);

    [Theory]
    [InlineData("arithmetic")]
    [InlineData("kb-multihop")]
    public async Task Run_GoldDemonstrationReplayed_TokensEqualWholeRenderingAndMaskMarksExactlyGeneratedTokens(string taskName)
    {
        var task = GoldTask(taskName);
        var item = task.Generate(TaskSplit.Train, 1, seed: 3)[0];
        var context = task.GetToolContext(item);
        using var session = _catalog.OpenSession(context.AllowedTools, new ToolSessionContext { KnowledgeBase = context.Documents, KnowledgeBaseKey = item.Id });
        var demo = await task.BuildDemonstrationAsync(item, session);
        var script = demo.Messages.Where(m => m.Role == ChatRole.Assistant).Select(_template.EncodeAssistantTurn).ToList();
        var generated = new List<int>();

        var trajectory = await Rollout(new RolloutLimits(MaxTurns: 8, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000))
            .RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, Replay(script, generated), session.ExecuteAsync);

        Assert.Equal(FinishReason.Eos, trajectory.FinishReason);
        Assert.Equal(_template.Encode(trajectory.Conversation, session.Tools, addGenerationPrompt: false), trajectory.TokenIds);
        Assert.Equal(generated, trajectory.TokenIds.Where((_, i) => trajectory.LossMask[i] == 1));
        Assert.All(Enumerable.Range(0, trajectory.PromptLength), i => Assert.Equal(0, trajectory.LossMask[i]));
        Assert.All(Enumerable.Range(0, trajectory.TokenIds.Length), i => Assert.Equal(trajectory.LossMask[i] == 1, trajectory.PolicyVersions[i] == 7));
        Assert.Equal(demo.Messages.Count(m => m.Role == ChatRole.Tool), trajectory.ToolCalls.Count);
        Assert.All(trajectory.ToolCalls, c => Assert.False(c.IsError, c.Observation));
        Assert.All(trajectory.ToolCalls, c => Assert.Contains(c.Observation, _template.Tokenizer.Decode(trajectory.TokenIds.AsSpan(c.ObservationStart, c.ObservationLength)), StringComparison.Ordinal));
        Assert.Equal(1.0, task.Score(item, FinishedConversation.FromMessages(trajectory.Conversation)).Score, 6);
        Assert.Equal(trajectory.ToolCalls.Count, trajectory.EntropyAfterToolResults.Count);
    }

    [Fact]
    public async Task Run_MalformedAndUnknownCalls_BecomeErrorObservationsAndTheEpisodeGoesOn()
    {
        var task = GoldTask("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 4)[0];
        using var session = _catalog.OpenSession(task.AllowedTools);
        var script = new[]
        {
            _template.Tokenizer.Encode("<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": </tool_call>"),
            _template.Tokenizer.Encode("<tool_call>{\"name\": \"rm-rf\", \"arguments\": {}}</tool_call>"),
            _template.Tokenizer.Encode("<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expr\": 3}}</tool_call>"),
            _template.Tokenizer.Encode($"<answer>{item.Answer}</answer><|end|>"),
        }.ToList();

        var trajectory = await Rollout(new RolloutLimits(ContextBudget: 100_000))
            .RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, Replay(script, []), session.ExecuteAsync);

        Assert.Equal(FinishReason.Eos, trajectory.FinishReason);
        Assert.Equal(["bad_json", "unknown_tool", "bad_arguments"], trajectory.ToolCalls.Select(c => c.ErrorKind));
        Assert.All(trajectory.ToolCalls, c => Assert.True(c.IsError));
        Assert.Equal(1.0, task.Score(item, FinishedConversation.FromMessages(trajectory.Conversation)).Parts[RewardParts.Correctness]);
    }

    [Fact]
    public async Task Run_ContextBudgetTooSmallForTheObservation_StopsWithContextBudgetAndStaysWithinIt()
    {
        var task = GoldTask("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 5)[0];
        using var session = _catalog.OpenSession(task.AllowedTools);
        var prompt = _template.Start(task.SystemPrompt, session.Tools, item.Prompt);
        var call = _template.Tokenizer.Encode("<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"1+1\"}}</tool_call>");
        var budget = prompt.Length + call.Length + 3;

        var trajectory = await Rollout(new RolloutLimits(ContextBudget: budget))
            .RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, Replay([call, call], []), session.ExecuteAsync);

        Assert.Equal(FinishReason.ContextBudget, trajectory.FinishReason);
        Assert.True(trajectory.TokenIds.Length <= budget);
        Assert.Empty(trajectory.ToolCalls);
        Assert.DoesNotContain(trajectory.Conversation, m => m.Role == ChatRole.Tool);
    }

    [Fact]
    public async Task Run_ModelKeepsCallingTools_StopsAtMaxTurns()
    {
        var task = GoldTask("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 6)[0];
        using var session = _catalog.OpenSession(task.AllowedTools);
        var call = _template.Tokenizer.Encode("<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"2*3\"}}</tool_call>");

        var trajectory = await Rollout(new RolloutLimits(MaxTurns: 3, ContextBudget: 100_000))
            .RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, Replay([call, call, call, call], []), session.ExecuteAsync);

        Assert.Equal(FinishReason.MaxTurns, trajectory.FinishReason);
        Assert.Equal(3, trajectory.ToolCalls.Count);
        Assert.All(trajectory.ToolCalls, c => Assert.Equal("6", c.Observation.Trim()));
    }

    [Fact]
    public async Task Run_FromTheEndOfAToolResult_ChildSharesTheParentsPrefixAndStaysARenderingOfItsConversation()
    {
        var task = GoldTask("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 3)[0];
        using var session = _catalog.OpenSession(task.AllowedTools);
        var demo = await task.BuildDemonstrationAsync(item, session);
        var script = demo.Messages.Where(m => m.Role == ChatRole.Assistant).Select(_template.EncodeAssistantTurn).ToList();
        var rollout = Rollout(new RolloutLimits(MaxTurns: 8, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000));
        var parent = await rollout.RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, Replay(script, []), session.ExecuteAsync);
        Assert.NotEmpty(parent.ToolCalls);
        Assert.Equal(parent.Conversation.Count, parent.MessageEnds.Length);
        var fork = parent.ToolCalls[0].ObservationStart + parent.ToolCalls[0].ObservationLength;

        // The same continuation: the child is the parent again. A different one: it shares exactly the prefix.
        var same = await rollout.RunAsync("g", "0.1", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 2, Replay(script.Skip(1).ToList(), []), session.ExecuteAsync, parent: parent, forkPosition: fork);
        var answer = _template.Tokenizer.Encode("<answer>0</answer><|end|>");
        var generated = new List<int>();
        var other = await rollout.RunAsync("g", "0.2", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 3, Replay([answer], generated), session.ExecuteAsync, parent: parent, forkPosition: fork);

        Assert.Equal(parent.TokenIds, same.TokenIds);
        Assert.Equal(parent.LossMask, same.LossMask);
        Assert.Equal(parent.ToolCalls, same.ToolCalls);
        Assert.Equal(parent.EntropyAfterToolResults, same.EntropyAfterToolResults);
        Assert.Equal(parent.MessageEnds, same.MessageEnds);
        foreach (var child in new[] { same, other })
        {
            Assert.Equal("0", child.ParentPath);
            Assert.Equal(fork, child.ForkPosition);
            Assert.Equal(1, child.Depth);
            Assert.Equal(FinishReason.Eos, child.FinishReason);
            Assert.Equal(parent.TokenIds.Take(fork), child.TokenIds.Take(fork));
            Assert.Equal(parent.LossMask.Take(fork), child.LossMask.Take(fork));
            Assert.Equal(parent.Logprobs.Take(fork), child.Logprobs.Take(fork));
            Assert.Equal(parent.PolicyVersions.Take(fork), child.PolicyVersions.Take(fork));
            Assert.Equal(_template.Encode(child.Conversation, session.Tools, addGenerationPrompt: false), child.TokenIds);
            Assert.Equal(child.Conversation.Count, child.MessageEnds.Length);
            Assert.Equal(child.TokenIds.Length, child.MessageEnds[^1]);
            Assert.Equal(child.TokenIds.Length, child.LossMask.Length);
        }

        Assert.Equal(generated, other.TokenIds.Skip(fork));
        Assert.All(Enumerable.Range(fork, other.TokenIds.Length - fork), i => Assert.Equal(1, other.LossMask[i]));
        Assert.Single(other.ToolCalls);
        Assert.Equal(ChatRole.Tool, other.Conversation[^2].Role);
        await Assert.ThrowsAsync<ArgumentException>(() => rollout.RunAsync("g", "0.3", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 4, Replay([answer], []), session.ExecuteAsync, parent: parent, forkPosition: fork - 1));
    }

    /// <summary>
    /// An async run's generation moves to newer weights mid-turn (the engine recomputes its cache and records the new version
    /// for the tokens after the switch, InferenceEngineTests): the trajectory still equals the rendering of its conversation,
    /// every generated token keeps the version it was generated with, and versions never go back across turns and tool calls.
    /// </summary>
    [Fact]
    public async Task Run_WeightsSwitchedMidTurn_StaysARenderingAndVersionsNeverDecrease()
    {
        var task = GoldTask("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 3)[0];
        using var session = _catalog.OpenSession(task.AllowedTools);
        var demo = await task.BuildDemonstrationAsync(item, session);
        var script = demo.Messages.Where(m => m.Role == ChatRole.Assistant).Select(_template.EncodeAssistantTurn).ToList();
        Assert.True(script.Count >= 2, "the demonstration needs a tool call and an answer");
        var versions = new List<long>();
        var version = 3L;
        var turn = 0;
        MultiTurnRollout.Generate interrupted = (request, _) =>
        {
            var ids = script[turn++].Take(request.MaxNewTokens).ToArray();
            // Each turn is interrupted once, half-way: a newer version is published and generation continues under it.
            var turnVersions = ids.Select((_, i) => i < ids.Length / 2 ? version : version + 1).ToArray();
            version++;
            versions.AddRange(turnVersions);
            var stopped = ids.Length > 0 && request.StopTokenIds.Contains(ids[^1]);
            return Task.FromResult(new GenerateResponse(ids, [.. Enumerable.Repeat(-0.5f, ids.Length)], [.. Enumerable.Repeat(1.25f, ids.Length)], turnVersions, stopped ? FinishReason.Stop : FinishReason.Length, null));
        };

        var trajectory = await Rollout(new RolloutLimits(MaxTurns: 8, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000))
            .RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, interrupted, session.ExecuteAsync);

        Assert.Equal(_template.Encode(trajectory.Conversation, session.Tools, addGenerationPrompt: false), trajectory.TokenIds);
        var generated = trajectory.PolicyVersions.Where((_, i) => trajectory.LossMask[i] == 1).ToList();
        Assert.Equal(versions, generated);
        Assert.True(generated.Zip(generated.Skip(1)).All(p => p.First <= p.Second), string.Join(",", generated));
        Assert.True(generated.Distinct().Count() > script.Count, "every turn switched version once");
        Assert.All(Enumerable.Range(0, trajectory.TokenIds.Length), i => Assert.Equal(trajectory.LossMask[i] == 1, trajectory.PolicyVersions[i] >= 0));
    }

    private MultiTurnRollout Rollout(RolloutLimits limits) => new(_template, new ToolCallParser(), limits);

    /// <summary>A policy that answers each generation call with the next scripted turn, as version 7.</summary>
    private static MultiTurnRollout.Generate Replay(IReadOnlyList<int[]> turns, List<int> generated)
    {
        var next = 0;
        return (request, _) =>
        {
            var ids = turns[next++].Take(request.MaxNewTokens).ToArray();
            generated.AddRange(ids);
            var stopped = ids.Length > 0 && request.StopTokenIds.Contains(ids[^1]);
            return Task.FromResult(new GenerateResponse(
                ids,
                [.. Enumerable.Repeat(-0.5f, ids.Length)],
                [.. Enumerable.Repeat(1.25f, ids.Length)],
                [.. Enumerable.Repeat(7L, ids.Length)],
                stopped ? FinishReason.Stop : FinishReason.Length,
                null));
        };
    }

}
