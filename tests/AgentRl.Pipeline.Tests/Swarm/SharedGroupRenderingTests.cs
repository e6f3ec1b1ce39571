using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Pipeline.Swarm;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tasks.Rewards;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Pipeline.Tests.Swarm;

/// <summary>
/// Re-rendering parity: a producer's rollout (its template and tokenizer) shared as text and rendered by a receiver equals,
/// token for token and mask for mask, the receiver's own rollout of the same conversation. Both "policies" replay scripted
/// assistant turns through the real multi-turn loop with the real tools.
/// </summary>
public sealed class SharedGroupRenderingTests
{
    private static readonly ByteLevelTokenizer Standard = new();

    /// <summary>Another tokenizer: the same bytes, the added tokens in reverse order, so every marker has another id.</summary>
    private static readonly ByteLevelTokenizer Reordered = new([.. ByteLevelTokenizer.DefaultAddedTokens.Reverse()]);

    private readonly ToolCatalog _catalog = new(new ToolCatalogOptions());
    private readonly TaskRegistry _tasks = TaskRegistry.CreateDefault();

    public static TheoryData<string, bool, string, bool> Cases()
    {
        var data = new TheoryData<string, bool, string, bool>();
        foreach (var producer in ChatTemplates.Names)
        {
            foreach (var receiver in ChatTemplates.Names)
            {
                data.Add(producer, false, receiver, true);
                data.Add(producer, true, receiver, true);
            }
        }

        data.Add(ChatTemplates.Compact, false, ChatTemplates.Compact, false);
        data.Add(ChatTemplates.Qwen25, true, ChatTemplates.Qwen25, false);
        return data;
    }

    /// <param name="producerTemplate">The producer's chat template.</param>
    /// <param name="producerReordered">Whether the producer's tokenizer is the other one.</param>
    /// <param name="receiverTemplate">The receiver's chat template (its tokenizer is the standard one).</param>
    /// <param name="finished">Whether the last turn ended (false: cut by the token budget before its end of turn).</param>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Render_SharedCompletion_EqualsTheReceiversOwnRolloutOfTheSameConversation(string producerTemplate, bool producerReordered, string receiverTemplate, bool finished)
    {
        var task = _tasks.Create("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 21)[0];
        using var session = _catalog.OpenSession(task.GetToolContext(item).AllowedTools);
        var producer = ChatTemplates.Create(producerTemplate, producerReordered ? Reordered : Standard);
        var receiver = ChatTemplates.Create(receiverTemplate, Standard);
        var demo = await task.BuildDemonstrationAsync(item, session);
        var turns = demo.Messages.Where(m => m.Role == ChatRole.Assistant).ToList();

        var produced = await RolloutAsync(producer, task, item, session, turns, finished);
        var completion = SharedGroups.Completion(produced);
        var rendered = SharedGroupRendering.Render(receiver, task.SystemPrompt, session.Tools, item.Prompt, completion);
        var own = await RolloutAsync(receiver, task, item, session, [.. completion.Messages.Where(m => m.Role == ChatRole.Assistant)], finished);

        Assert.Equal(finished ? FinishReason.Eos : FinishReason.Length, produced.FinishReason);
        Assert.Equal(finished, completion.Finished);
        Assert.Equal(own.TokenIds, rendered.TokenIds);
        Assert.Equal(own.LossMask, rendered.LossMask);
        Assert.Equal(own.PromptLength, rendered.PromptLength);
        Assert.Equal(own.MessageEnds, rendered.MessageEnds);
        Assert.Equal(Flat(own.Conversation), Flat(rendered.Conversation));
        Assert.Equal(task.Score(item, FinishedConversation.FromMessages(produced.Conversation)).Score, task.Score(item, FinishedConversation.FromMessages(rendered.Conversation)).Score);
        if (producerTemplate != receiverTemplate || producerReordered)
        {
            Assert.NotEqual(produced.TokenIds, rendered.TokenIds);   // the parity is not that of identical streams
        }
    }

    [Theory]
    [InlineData(ChatTemplates.Compact)]
    [InlineData(ChatTemplates.Qwen25)]
    public async Task AlignBehaviour_SameTokenizerAndTokens_PlacesTheProducersLogprobsOnTheReceiversGeneratedTokens(string template)
    {
        var task = _tasks.Create("arithmetic");
        var item = task.Generate(TaskSplit.Train, 1, seed: 22)[0];
        using var session = _catalog.OpenSession(task.GetToolContext(item).AllowedTools);
        var chat = ChatTemplates.Create(template, Standard);
        var demo = await task.BuildDemonstrationAsync(item, session);
        var produced = await RolloutAsync(chat, task, item, session, [.. demo.Messages.Where(m => m.Role == ChatRole.Assistant)], finished: true);
        var completion = SharedGroups.Completion(produced);
        var rendered = SharedGroupRendering.Render(chat, task.SystemPrompt, session.Tools, item.Prompt, completion);
        var id = TokenizerFingerprint.Describe(Standard);

        var aligned = SharedGroupRendering.AlignBehaviour(rendered, completion, id, id);

        Assert.NotNull(aligned);
        Assert.Equal(produced.Logprobs, aligned);
        Assert.Null(SharedGroupRendering.AlignBehaviour(rendered, completion, TokenizerFingerprint.Describe(Reordered), id));
        Assert.Null(SharedGroupRendering.AlignBehaviour(rendered, completion with { BehaviourTokensHash = "00" }, id, id));
    }

    [Fact]
    public void Fingerprint_DiffersBetweenTokenizers_AndIsStable()
    {
        Assert.Equal(TokenizerFingerprint.Of(new ByteLevelTokenizer()), TokenizerFingerprint.Of(Standard));
        Assert.NotEqual(TokenizerFingerprint.Of(Reordered), TokenizerFingerprint.Of(Standard));
    }

    /// <summary>Messages as text; tool-call arguments compared as JSON (templates write different whitespace).</summary>
    private static IEnumerable<string> Flat(IEnumerable<ChatMessage> messages) =>
        messages.Select(m => $"{m.Role}|{m.Content}|{m.ToolName}|{string.Join(";", (m.ToolCalls ?? []).Select(c => c.Name + System.Text.Json.Nodes.JsonNode.Parse(c.ArgumentsJson)!.ToJsonString()))}");

    /// <summary>A rollout that replays the assistant turns as <paramref name="template"/> writes them; the last one without its end of turn when not finished.</summary>
    private static Task<Trajectory> RolloutAsync(IChatTemplate template, IAgentTask task, TaskItem item, ToolSession session, IReadOnlyList<ChatMessage> turns, bool finished)
    {
        var script = turns.Select(template.EncodeAssistantTurn).ToList();
        if (!finished)
        {
            script[^1] = script[^1][..^1];
        }

        var next = 0;
        var rollout = new MultiTurnRollout(template, new ToolCallParser(), new RolloutLimits(MaxTurns: 8, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000));
        return rollout.RunAsync("g", "0", task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1, (request, _) =>
        {
            var ids = script[next++];
            var stopped = ids.Length > 0 && request.StopTokenIds.Contains(ids[^1]);
            return Task.FromResult(new GenerateResponse(ids, [.. ids.Select((_, i) => -0.1f * ((i % 7) + 1))], new float[ids.Length], [.. Enumerable.Repeat(3L, ids.Length)], stopped ? FinishReason.Stop : FinishReason.Length, null));
        }, session.ExecuteAsync);
    }
}
