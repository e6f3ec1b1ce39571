using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Client;

/// <summary>A run as <see cref="AgentRlClient.ListRunsAsync"/> lists it.</summary>
/// <param name="RunId">The run id.</param>
/// <param name="State">From the cluster's run grain when it knows the run, else from <c>run_state.json</c>: <c>Interrupted</c> when the file says it was going but the cluster does not know it, <c>Unknown</c> when there is no file.</param>
/// <param name="StepsDone">RL steps recorded in <c>metrics.csv</c>.</param>
/// <param name="Steps">The steps the run was configured for, when its state file says.</param>
/// <param name="LastEvalAccuracy">The last held-out accuracy in <c>metrics.csv</c>.</param>
/// <param name="Path">The run's folder as the silos see it.</param>
public sealed record RunSummary(string RunId, string State, int StepsDone, int? Steps, double? LastEvalAccuracy, string Path);

/// <summary>One row of a run's <c>metrics.csv</c>: the step and every metric recorded for it, by column name.</summary>
/// <param name="Step">The step (0 = the warm start).</param>
/// <param name="Values">Values by column (<c>reward_mean</c>, <c>accuracy</c>, <c>eval_accuracy</c>, <c>loss/pg</c>, …).</param>
public sealed record MetricsRow(long Step, IReadOnlyDictionary<string, double> Values);

/// <summary>What <see cref="AgentRlClient.EvaluateAsync"/> measures.</summary>
/// <param name="Items">Held-out items (default 64).</param>
/// <param name="Seed">Seed of the items (default 0).</param>
/// <param name="TaskOptions">Task options (<c>agentrl tasks list</c> shows them).</param>
/// <param name="Limits">Turns, tokens and tool limits of each episode (default a new run's).</param>
public sealed record EvaluationOptions(int Items = 64, int Seed = 0, IReadOnlyDictionary<string, string>? TaskOptions = null, RolloutLimits? Limits = null);

/// <summary>Greedy pass@1 of a checkpoint on a task's held-out items.</summary>
/// <param name="Task">The task.</param>
/// <param name="Solved">Items answered correctly.</param>
/// <param name="Items">Items evaluated.</param>
/// <param name="MeanReward">The mean reward.</param>
/// <param name="ToolCallsPerTrajectory">Tool calls per episode.</param>
/// <param name="Trajectories">The episodes, one per item.</param>
public sealed record EvaluationResult(string Task, int Solved, int Items, double MeanReward, double ToolCallsPerTrajectory, IReadOnlyList<Trajectory> Trajectories)
{
    /// <summary><see cref="Solved"/> / <see cref="Items"/> (0 when there were none).</summary>
    public double Accuracy => Items == 0 ? 0 : (double)Solved / Items;
}
