using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>The smallest arithmetic run the cluster tests train, so each test states only what it changes.</summary>
public static class ToyRuns
{
    /// <summary>
    /// 2 prompts × 2 samples per step, 2 held-out items evaluated at the start and end only, no pass@k, 2 turns of at most
    /// 16 new tokens; with <paramref name="warmStart"/> a one-epoch warm start on 8 demonstrations, else none; no
    /// equal-time baseline.
    /// </summary>
    public static RunConfig Config(string runDir, int steps, bool warmStart = false) => new()
    {
        Steps = steps,
        PromptsPerStep = 2,
        GroupSize = 2,
        SftDemonstrations = warmStart ? 8 : 0,
        SftEpochs = 1,
        EvalSize = 2,
        EvalEvery = 100,
        PassK = 0,
        RunDir = runDir,
        Baseline = RunConfig.Baselines.None,
        Limits = new RolloutLimits(MaxTurns: 2, MaxNewTokensPerTurn: 16, ContextBudget: 384),
    };
}
