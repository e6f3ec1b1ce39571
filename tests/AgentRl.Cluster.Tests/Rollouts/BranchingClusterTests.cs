using AgentRl.Abstractions.Rollouts;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Rollouts;
using AgentRl.Grains.Tasks;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Cluster.Tests.Rollouts;

/// <summary>Forked branch grains and branching episodes on a two-silo cluster with the real tiny model (random weights).</summary>
public sealed class BranchingClusterTests(TwoSiloClusterFixture fixture) : IClassFixture<TwoSiloClusterFixture>
{
    private readonly IChatTemplate _template = ChatTemplates.Create("compact", new ByteLevelTokenizer());
    private readonly IAgentTask _task = TaskRegistry.CreateDefault().Create("arithmetic");
    private readonly RolloutLimits _limits = new(MaxTurns: 4, MaxNewTokensPerTurn: 24, ContextBudget: 512);

    [Fact]
    public async Task ForkedBranch_ReplaysTheParentsCalls_SameObservationsAndTheParentsPrefix()
    {
        var (item, parent) = await ParentWithTwoCallsAsync();
        var fork = parent.ToolCalls[1].ObservationStart + parent.ToolCalls[1].ObservationLength;

        var child = await fixture.Cluster.Client.GetGrain<IRolloutBranchGrain>("fork-test/0/0.0").RunAsync(Spec(item, parent, fork));

        Assert.Equal("0.0", child.BranchPath);
        Assert.Equal("0", child.ParentPath);
        Assert.Equal(fork, child.ForkPosition);
        Assert.Equal(parent.TokenIds.Take(fork), child.TokenIds.Take(fork));
        Assert.True(child.TokenIds.Length > fork, "the child generates after the fork");
        Assert.Equal(2, child.ReplayedToolCalls);
        Assert.Equal(0, child.ReplayMismatches);
        Assert.Equal(parent.ToolCalls.Take(2), child.ToolCalls.Take(2));
    }

    [Fact]
    public async Task ForkedBranch_ParentRecordDisagreesWithTheReplay_CountsTheMismatch()
    {
        var (item, parent) = await ParentWithTwoCallsAsync();
        var fork = parent.ToolCalls[1].ObservationStart + parent.ToolCalls[1].ObservationLength;
        var tampered = parent with { ToolCalls = [parent.ToolCalls[0] with { Observation = "41" }, .. parent.ToolCalls.Skip(1)] };

        var child = await fixture.Cluster.Client.GetGrain<IRolloutBranchGrain>("fork-test/1/0.0").RunAsync(Spec(item, tampered, fork));

        Assert.Equal(2, child.ReplayedToolCalls);
        Assert.Equal(1, child.ReplayMismatches);
    }

    [Fact]
    public async Task BranchingEpisode_RandomTinyModel_GroupOfExactlyMFormsAValidTree()
    {
        var items = _task.Generate(TaskSplit.Train, 4, seed: 8);
        var settings = AlgorithmRegistry.Get("arpo").BranchingFor(new BranchingSettings { InitialTrajectories = 2, Alpha = 1.0 });

        var results = await Task.WhenAll(items.Select((item, i) =>
            fixture.Cluster.Client.GetGrain<IEpisodeGrain>($"tree-test/0/{i}").RunAsync(
                new EpisodeSpec("default", "arithmetic", TaskCatalog.ToJson(item), GroupSize: 4, new SamplingSettings(Temperature: 1.0), _limits, Seed: i, Branching: settings))));

        foreach (var result in results)
        {
            Assert.Equal(4, result.Trajectories.Count);
            Assert.NotNull(result.Branching);
            Assert.Equal(2, result.Branching.InitialTrajectories);
            Assert.Equal(2, result.Branching.ForksTaken + result.Branching.TopUps);
            var nodes = result.Trajectories.Select((t, order) => new RolloutNode(
                t.BranchPath, t.ParentPath, t.ForkPosition ?? 0, t.Depth, t.ParentPath is not null ? RolloutNodeKind.Fork : order < 2 ? RolloutNodeKind.Initial : RolloutNodeKind.TopUp, order)).ToList();
            Assert.Empty(RolloutTreeValidator.Validate(nodes, 4, result.Trajectories.ToDictionary(t => t.BranchPath, t => t.TokenIds.Length)));
            Assert.All(result.Trajectories, t => Assert.Equal(result.EpisodeId, t.GroupId));
            Assert.All(result.Trajectories, t => Assert.Contains("correctness", t.RewardParts.Keys));
        }
    }

    [Fact]
    public async Task BranchingEpisode_ReferenceEntropyEstimator_RecordsTopLogprobEntropiesAndFormsATree()
    {
        var item = _task.Generate(TaskSplit.Train, 1, seed: 5)[0];
        var settings = AlgorithmRegistry.Get("arpo").BranchingFor(new BranchingSettings { InitialTrajectories = 2, Alpha = 1.0, EntropyEstimator = TopKSummedNormalizedEntropy.RegistryName });
        Assert.Empty(settings!.Validate(4));

        var result = await fixture.Cluster.Client.GetGrain<IEpisodeGrain>("tree-topk/0/0").RunAsync(
            new EpisodeSpec("default", "arithmetic", TaskCatalog.ToJson(item), GroupSize: 4, new SamplingSettings(Temperature: 1.0), _limits, Seed: 1, Branching: settings));

        Assert.Equal(4, result.Trajectories.Count);
        foreach (var trajectory in result.Trajectories)
        {
            var top = trajectory.TopLogprobEntropies;
            Assert.NotNull(top);
            Assert.Equal(trajectory.TokenIds.Length, top.Length);
            for (var t = 0; t < top.Length; t++)
            {
                if (trajectory.LossMask[t] == 0)
                {
                    Assert.Equal(0f, top[t]);
                }
                else
                {
                    // A sum of −p ln p over some of the tokens: positive, and at most the full-vocabulary entropy.
                    Assert.InRange(top[t], 1e-6f, trajectory.Entropies[t] + 1e-4f);
                }
            }
        }
    }

    [Fact]
    public void TopLogprobEntropies_SampledTokenOutsideTheTopK_CountsIt()
    {
        var result = new AgentRl.Policy.Generation.GenerationResult
        {
            TokenIds = [7, 9],
            LogProbs = [(float)Math.Log(0.5), (float)Math.Log(0.1)],
            Entropies = [1f, 1f],
            PolicyVersions = [0, 0],
            TopLogProbs = [[new(7, (float)Math.Log(0.5)), new(3, (float)Math.Log(0.25))], [new(4, (float)Math.Log(0.6))]],
            FinishReason = AgentRl.Policy.Generation.FinishReason.Length,
        };
        static double Term(double p) => -p * Math.Log(p);

        var terms = GeneratorGrain.TopLogprobEntropies(result)!;

        Assert.Equal(Term(0.5) + Term(0.25), terms[0], 5);   // sampled token 7 is listed: counted once
        Assert.Equal(Term(0.6) + Term(0.1), terms[1], 5);    // sampled token 9 is not: added
        Assert.Null(GeneratorGrain.TopLogprobEntropies(result with { TopLogProbs = null }));
    }

    private BranchSpec Spec(TaskItem item, Trajectory parent, int fork) =>
        new("fork-test", "default", "arithmetic", TaskCatalog.ToJson(item), new SamplingSettings(Temperature: 1.0), _limits, Seed: 3, Parent: parent, ForkPosition: fork);

    /// <summary>A parent trajectory of the real loop whose first two turns are scripted calculator calls (then an answer).</summary>
    private async Task<(TaskItem Item, Trajectory Parent)> ParentWithTwoCallsAsync()
    {
        var item = _task.Generate(TaskSplit.Train, 1, seed: 2)[0];
        using var session = new ToolCatalog(new ToolCatalogOptions()).OpenSession(_task.AllowedTools);
        string[] turns =
        [
            "<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"2*3\"}}</tool_call>",
            "<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"6+7\"}}</tool_call>",
            "<answer>13</answer><|end|>",
        ];
        var next = 0;
        var parent = await new MultiTurnRollout(_template, new ToolCallParser(), _limits with { MaxNewTokensPerTurn = 4096 }).RunAsync(
            "fork-test", "0", _task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), 1,
            (request, _) =>
            {
                var ids = _template.Tokenizer.Encode(turns[next++]);
                return Task.FromResult(new GenerateResponse(ids, [.. ids.Select(_ => -0.5f)], [.. ids.Select(_ => 1f)], [.. ids.Select(_ => 0L)], request.StopTokenIds.Contains(ids[^1]) ? FinishReason.Stop : FinishReason.Length, null));
            },
            session.ExecuteAsync);
        Assert.Equal(2, parent.ToolCalls.Count);
        Assert.All(parent.ToolCalls, c => Assert.False(c.IsError, c.Observation));
        return (item, parent);
    }
}
