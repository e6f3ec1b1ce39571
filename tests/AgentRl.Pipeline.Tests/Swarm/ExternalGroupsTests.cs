using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Pipeline.Swarm;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;
using static AgentRl.Pipeline.Tests.Swarm.SharedGroupFixtures;

namespace AgentRl.Pipeline.Tests.Swarm;

public sealed class ExternalGroupsTests
{
    private static readonly IChatTemplate Template = ChatTemplates.Create(ChatTemplates.Compact, new ByteLevelTokenizer());
    private static readonly string TokenizerId = TokenizerFingerprint.Describe(new ByteLevelTokenizer());
    private readonly ToolCatalog _catalog = new(new ToolCatalogOptions());
    private readonly IAgentTask _task = TaskRegistry.CreateDefault().Create("arithmetic");

    private PreparedGroup Prepare(SharedGroup group, int contextBudget = 10_000)
    {
        var item = Items.First(i => ItemJson(i) == group.ItemJson);
        using var session = _catalog.OpenSession(_task.GetToolContext(item).AllowedTools);
        return ExternalGroups.Prepare(group, Template, _task.SystemPrompt, session.Tools, item.Prompt, TokenizerId, contextBudget);
    }

    [Fact]
    public void Rescore_UsesTheReceiversTask_AndAdvantagesAreComputedWithinTheExternalGroup()
    {
        // The producer says every completion scored 1 (an uninformative group); the receiver's task finds 2 of 4 right.
        var shared = Group(3, producer: "run-b", size: 4, informative: false);
        var prepared = Prepare(shared);
        var external = ExternalGroups.Rescore(ExternalGroups.Complete(prepared, [.. prepared.Trajectories.Select(t => new float[t.TokenIds.Length])], "none", 2), _task, Items[3]);
        var local = Enumerable.Range(0, 3).Select(i => LocalTrajectory("own/1/0", i, reward: i)).ToList();

        var batch = local.Concat(external.Trajectories).ToList();
        var advantages = TrajectoryExamples.Advantages(batch, new ObjectiveOptions()).PerTrajectory;

        Assert.Equal([1.0, 0.2, 1.0, 0.2], external.Trajectories.Select(t => t.Reward));   // a wrong answer after the tool call earns 0.2
        Assert.All(external.Trajectories, t => Assert.Equal(ExternalGroups.GroupId(shared), t.GroupId));
        // GRPO within the group {1, 0.2, 1, 0.2}: mean 0.6, unbiased std 0.46188 → ±0.866025; the local group {0, 1, 2} apart: −1, 0, 1.
        Assert.Equal([0.866025f, -0.866025f, 0.866025f, -0.866025f], advantages[3..], new FloatTolerance(1e-4f));
        Assert.Equal([-1f, 0f, 1f], advantages[..3], new FloatTolerance(1e-4f));
    }

    [Fact]
    public void Complete_TruncatedIs_WeightsAlignedTokensByTheHandComputedRatio_AndCountsTheRest()
    {
        var shared = Group(5, producer: "run-b", size: 2);
        var first = Prepare(shared);
        var generated = first.Trajectories.Select(t => t.LossMask.Count(m => m == 1)).ToArray();
        // Producer logprobs −1 on each generated token of completion 0 (hash of the receiver's own tokens: same tokenizer);
        // completion 1 keeps none, so it cannot be corrected.
        var ids = first.Trajectories[0].TokenIds.Where((_, t) => first.Trajectories[0].LossMask[t] == 1).ToList();
        var withBehaviour = shared with
        {
            TokenizerId = TokenizerId,
            Completions = [shared.Completions[0] with { BehaviourLogprobs = [.. Enumerable.Repeat(-1f, generated[0])], BehaviourTokensHash = SharedGroups.TokensHash(ids) }, shared.Completions[1]],
        };
        var prepared = Prepare(withBehaviour);
        var receiver = prepared.Trajectories.Select((t, i) => t.LossMask.Select(m => m == 1 ? (i == 0 ? -0.5f : -2f) : 0f).ToArray()).ToList();

        var external = ExternalGroups.Complete(prepared, receiver, "truncated-is", 1.5);

        // exp(−0.5 − (−1)) = 1.6487 → c = 1.5 on every generated token of completion 0; completion 1 has no weights.
        Assert.Equal(generated[0], external.CorrectedTokens);
        Assert.Equal(generated[1], external.UncorrectedTokens);
        var weights = external.TokenWeights[0]!;
        Assert.All(Enumerable.Range(0, weights.Length), t => Assert.Equal(prepared.Trajectories[0].LossMask[t] == 1 ? 1.5f : 1f, weights[t]));
        Assert.Null(external.TokenWeights[1]);
        Assert.Equal(receiver[0], external.Trajectories[0].Logprobs);

        var exact = ExternalGroups.Complete(prepared, [.. receiver.Select(r => r.Select(l => l == 0 ? 0f : -1.2f).ToArray())], "truncated-is", 2.0);
        Assert.All(exact.TokenWeights[0]!.Where((_, t) => prepared.Trajectories[0].LossMask[t] == 1), w => Assert.Equal(0.818731f, w, 5));   // exp(−0.2)

        var none = ExternalGroups.Complete(prepared, receiver, "none", 1.5);
        Assert.All(none.TokenWeights, Assert.Null);
        Assert.Equal(generated.Sum(), none.UncorrectedTokens);
    }

    [Fact]
    public void Prepare_ACompletionOverTheReceiversContextBudget_DropsTheGroupWithAReason()
    {
        var prepared = Prepare(Group(6, producer: "run-b"), contextBudget: 20);
        Assert.Empty(prepared.Trajectories);
        Assert.Contains("over its context budget of 20", prepared.Problem, StringComparison.Ordinal);
        Assert.NotNull(ExternalGroups.Complete(prepared, [], "none", 2).Problem);
    }

    private static Trajectory LocalTrajectory(string group, int index, double reward) => new()
    {
        GroupId = group,
        BranchPath = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TokenIds = [1, 2, 3],
        PromptLength = 1,
        LossMask = [0, 1, 1],
        Logprobs = [0, -1, -1],
        Entropies = [0, 0, 0],
        PolicyVersions = [-1, 0, 0],
        FinishReason = FinishReason.Eos,
        Reward = reward,
        Conversation = [ChatMessage.User("x")],
    };

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
