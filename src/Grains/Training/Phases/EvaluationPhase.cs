using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Tasks;
using AgentRl.Pipeline.Metrics;
using AgentRl.Tasks;

namespace AgentRl.Grains.Training.Phases;

/// <summary>An evaluation's greedy pass@1 accuracy and its <c>eval/…</c> metrics.</summary>
public sealed record EvaluationResult(double Accuracy, Dictionary<string, double> Metrics);

/// <summary>
/// The Evaluate phase on the held-out split (<c>evalSize</c> items, the same every time): greedy pass@1 and, with
/// <c>passK</c> &gt; 0, sampled pass@k at temperature max(temperature, 0.7). Due every <c>evalEvery</c> steps and after the last.
/// </summary>
public sealed class EvaluationPhase(RunContext run)
{
    private readonly IReadOnlyList<TaskItem> _items = run.Task.Generate(TaskSplit.Eval, run.Config.EvalSize, run.Config.Seed);

    public bool IsDue(int step, int steps) => step % run.Config.EvalEvery == 0 || step == steps;

    public async Task<EvaluationResult> RunAsync(long version, string label, CancellationToken stop, bool sampled = true)
    {
        if (_items.Count == 0)
        {
            return new EvaluationResult(0, []);
        }

        var greedy = await GroupsAsync(version, $"eval-{label}-greedy", 1, 0.0, stop);
        var firsts = greedy.Select(g => g.Trajectories[0]).ToList();
        var solved = firsts.Where(RolloutMetrics.Solved).ToList();
        var accuracy = firsts.Average(t => RolloutMetrics.Solved(t) ? 1.0 : 0.0);
        var metrics = new Dictionary<string, double>
        {
            ["eval/accuracy"] = accuracy,
            ["eval/reward_mean"] = firsts.Average(t => t.Reward),
            ["eval/reward_std"] = StandardDeviation(firsts.Select(t => t.Reward).ToList()),
            ["eval/tool_calls_per_traj"] = firsts.Average(t => t.ToolCalls.Count),
            ["eval/tool_calls_per_solved"] = solved.Count > 0 ? solved.Average(t => t.ToolCalls.Count) : 0,
        };
        var k = run.Config.PassK;
        if (k > 0 && sampled)
        {
            var groups = await GroupsAsync(version, $"eval-{label}-pass{k}", k, Math.Max(run.Config.Temperature, 0.7), stop);
            metrics[$"eval/pass_at_{k}"] = groups.Average(g => g.Trajectories.Any(RolloutMetrics.Solved) ? 1.0 : 0.0);
        }

        return new EvaluationResult(accuracy, metrics);
    }

    /// <summary>Population standard deviation (the spread of the items' rewards, for a standard error of the mean).</summary>
    private static double StandardDeviation(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }

    private async Task<EpisodeResult[]> GroupsAsync(long version, string label, int groupSize, double temperature, CancellationToken stop)
    {
        var config = run.Config;
        return await Task.WhenAll(_items.Select((item, i) =>
            run.Grains.GetGrain<IEpisodeGrain>($"{config.RunId}/{label}/{i}").RunAsync(
                new EpisodeSpec(config.PolicyId, config.Task, TaskCatalog.ToJson(item), groupSize, new SamplingSettings(temperature), config.Limits, unchecked((config.Seed * 31) + i), version, TaskOptions: config.TaskOptions),
                stop)));
    }
}
