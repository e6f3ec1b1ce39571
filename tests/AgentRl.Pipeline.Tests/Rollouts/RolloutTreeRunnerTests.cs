using AgentRl.Abstractions.Rollouts;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Pipeline.Tests.Rollouts;

/// <summary>
/// Rollout trees with the real multi-turn loop, chat template and calculator sandboxes (one per path, a child's rebuilt
/// by replaying its parent's calls, as the branch grain does). The "policy" calls the calculator until the prefix holds
/// two tool calls, then answers; its token entropies depend on the branch seed, so ΔH varies.
/// </summary>
public sealed class RolloutTreeRunnerTests
{
    private readonly ToolCatalog _catalog = new(new ToolCatalogOptions());
    private readonly IChatTemplate _template = ChatTemplates.Create("compact", new ByteLevelTokenizer());
    private readonly IAgentTask _task = TaskRegistry.CreateDefault().Create("arithmetic");

    [Fact]
    public async Task Run_AlphaOneBudgetSix_ForksEveryCandidateWithinMAndEveryChildContinuesItsParent()
    {
        var (result, replays) = await RunTreeAsync(new BranchingOptions { TotalTrajectories = 6, InitialTrajectories = 2, Alpha = 1.0, Beta = 0.0 });

        Assert.Equal(6, result.Trajectories.Count);
        Assert.Empty(RolloutTreeValidator.Validate(result.Nodes, 6));
        // Two roots with two tool results each: four fork points in round 1, all granted, so the budget is spent on forks.
        Assert.Equal(4, result.Nodes.Count(n => n.Kind == RolloutNodeKind.Fork));
        Assert.Equal(4, result.Stats.ForksTaken);
        Assert.Equal(0, result.Stats.TopUps);
        var byPath = result.Trajectories.ToDictionary(t => t.BranchPath);
        foreach (var node in result.Nodes.Where(n => n.ParentPath is not null))
        {
            var child = byPath[node.Path];
            var parent = byPath[node.ParentPath!];
            Assert.Equal(node.ForkPosition, child.ForkPosition);
            Assert.Equal(parent.TokenIds.Take(node.ForkPosition), child.TokenIds.Take(node.ForkPosition));
            Assert.Equal(parent.LossMask.Take(node.ForkPosition), child.LossMask.Take(node.ForkPosition));
            Assert.True(MultiTurnRollout.IsForkPoint(parent, node.ForkPosition));
            Assert.Equal(parent.Depth + 1, child.Depth);
            // The child carries ΔH of its fork point: the parent's segment after that tool result against the parent's baseline.
            var session = new BranchingSession(new BranchingOptions { TotalTrajectories = 6, InitialTrajectories = 2, Alpha = 1.0, Beta = 0.0 }, new Random(0));
            session.Measure(parent.BranchPath, RolloutTreeRunner.FirstSegment(parent));
            var segment = RolloutTreeRunner.ForkSegments(parent).Single(s => s.Position == node.ForkPosition).Segment;
            Assert.Equal(session.Measure(parent.BranchPath, segment).EntropyDelta, child.ForkEntropyDelta!.Value, 12);
        }

        Assert.All(result.Trajectories.Where(t => t.ParentPath is null), t => Assert.Null(t.ForkEntropyDelta));

        // Every child's sandbox replayed exactly the parent's calls before the fork and saw the same observations.
        Assert.Equal(4, replays.Count);
        Assert.All(replays, r => Assert.Equal(0, r.Mismatches));
        Assert.Equal([1, 1, 2, 2], replays.Select(r => r.Replayed).Order());
    }

    [Fact]
    public async Task Run_BudgetThreeOneRoot_RefusesForksBeyondMAndNeverExceedsIt()
    {
        var (result, _) = await RunTreeAsync(new BranchingOptions { TotalTrajectories = 3, InitialTrajectories = 1, Alpha = 1.0, Beta = 0.0 });

        Assert.Equal(3, result.Trajectories.Count);
        Assert.Equal(3, result.Nodes.Count);
        Assert.Empty(RolloutTreeValidator.Validate(result.Nodes, 3));
        Assert.Equal(2, result.Stats.ForksTaken);
        Assert.True(result.Stats.ForksRefused > 0, "the child forked at the first result still has a fork point, which the spent budget refuses");
        Assert.Equal(result.Trajectories.Select(t => t.BranchPath).Distinct().Count(), result.Trajectories.Count);
    }

    [Fact]
    public async Task Run_RuleNeverForks_TopsUpFromThePromptToM()
    {
        var (result, replays) = await RunTreeAsync(new BranchingOptions { TotalTrajectories = 4, InitialTrajectories = 2, BranchPolicy = NoBranchPolicy.RegistryName });

        Assert.Equal(4, result.Trajectories.Count);
        Assert.Equal(2, result.Stats.TopUps);
        Assert.Equal(0, result.Stats.ForksTaken);
        Assert.Equal(8, result.Stats.ForkPoints); // every path, top-ups included, has two tool results
        Assert.Empty(replays);
        Assert.All(result.Trajectories, t => Assert.Null(t.ParentPath));
        Assert.Equal(["0", "1", "2", "3"], result.Trajectories.Select(t => t.BranchPath));
    }

    [Fact]
    public async Task Run_ABranchThatDoesNotContinueItsParent_IsRejected()
    {
        var item = _task.Generate(TaskSplit.Train, 1, seed: 5)[0];
        var rollout = new MultiTurnRollout(_template, new ToolCallParser(), new RolloutLimits(MaxTurns: 4, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000));
        var runner = new RolloutTreeRunner(new BranchingOptions { TotalTrajectories = 3, InitialTrajectories = 1, Alpha = 1.0, Beta = 0.0 }, seed: 11);

        // A broken branch: children restart from the prompt instead of continuing the parent from the fork.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunAsync(async (node, parent, seed, ct) =>
        {
            using var session = _catalog.OpenSession(_task.AllowedTools);
            var trajectory = await rollout.RunAsync("g", node.Path, _task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), seed, TwoCallsThenAnswer, session.ExecuteAsync, ct);
            return parent is null ? trajectory : trajectory with { ParentPath = parent.BranchPath, ForkPosition = node.ForkPosition, Depth = node.Depth, TokenIds = [.. trajectory.TokenIds.Select(id => id ^ 1)] };
        }));

        Assert.Contains("does not continue its parent", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AepoPreMonitor_ProbesOnceAndKeepsTheProbeOutOfTheGroup()
    {
        var paths = new List<string>();
        var (result, _) = await RunTreeAsync(new BranchingOptions { TotalTrajectories = 4, InitialTrajectories = 2, BranchPolicy = AepoBranchPolicy.RegistryName, BudgetAllocator = AepoPreMonitorAllocator.RegistryName }, paths);

        Assert.Equal(RolloutTreeRunner.ProbePath, paths[0]);
        Assert.Single(paths, RolloutTreeRunner.ProbePath);
        Assert.DoesNotContain(result.Trajectories, t => t.BranchPath == RolloutTreeRunner.ProbePath);
        Assert.Equal(4, result.Trajectories.Count);
        Assert.InRange(result.Stats.InitialTrajectories, 1, 4);
    }

    private async Task<(RolloutTreeResult Result, List<(int Replayed, int Mismatches)> Replays)> RunTreeAsync(BranchingOptions options, List<string>? paths = null)
    {
        var item = _task.Generate(TaskSplit.Train, 1, seed: 5)[0];
        var rollout = new MultiTurnRollout(_template, new ToolCallParser(), new RolloutLimits(MaxTurns: 4, MaxNewTokensPerTurn: 4096, ContextBudget: 100_000));
        var replays = new List<(int, int)>();
        var runner = new RolloutTreeRunner(options, seed: 11);
        var result = await runner.RunAsync(async (node, parent, seed, ct) =>
        {
            lock (replays)
            {
                paths?.Add(node.Path);
            }

            using var session = _catalog.OpenSession(_task.AllowedTools);
            if (parent is not null)
            {
                var history = MultiTurnRollout.ReplayHistory(parent, node.ForkPosition);
                var replayed = new List<Abstractions.Tools.ToolObservation>();
                foreach (var call in history)
                {
                    replayed.Add(await session.ExecuteAsync(new Abstractions.Chat.ToolCall(call.Name, call.ArgumentsJson), ct));
                }

                lock (replays)
                {
                    replays.Add((history.Count, MultiTurnRollout.CountMismatches(history, replayed)));
                }
            }

            return await rollout.RunAsync("g", node.Path, _task.SystemPrompt, item.Prompt, session.Tools, new SamplingSettings(), seed, TwoCallsThenAnswer, session.ExecuteAsync, ct, parent, node.ForkPosition);
        });
        return (result, replays);
    }

    /// <summary>Calls the calculator while the prefix holds fewer than two calls, then answers; entropies follow the seed.</summary>
    private Task<GenerateResponse> TwoCallsThenAnswer(GenerateRequest request, CancellationToken cancellationToken)
    {
        var calls = request.PrefixIds.Count(id => id == _template.ToolCallEndId);
        var text = calls < 2
            ? $"<tool_call>{{\"name\": \"calculator-evaluate\", \"arguments\": {{\"expression\": \"{calls + 2}*3\"}}}}</tool_call>"
            : "<answer>9</answer><|end|>";
        var ids = _template.Tokenizer.Encode(text);
        var entropy = 0.5f + (Math.Abs(request.Seed % 13) / 10f);
        var stopped = request.StopTokenIds.Contains(ids[^1]);
        return Task.FromResult(new GenerateResponse(
            ids,
            [.. Enumerable.Repeat(-0.5f, ids.Length)],
            [.. Enumerable.Repeat(entropy, ids.Length)],
            [.. Enumerable.Repeat(0L, ids.Length)],
            stopped ? FinishReason.Stop : FinishReason.Length,
            null));
    }
}
