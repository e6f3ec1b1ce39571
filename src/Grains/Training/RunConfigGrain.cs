using AgentRl.Abstractions.Training;
using AgentRl.Grains.Tasks;
using AgentRl.Policy.Algorithms;
using Orleans.Concurrency;

namespace AgentRl.Grains.Training;

/// <summary>
/// Checks and resolves run configurations with the silo's algorithm registry and task catalog, the same calls
/// <see cref="TrainingRunGrain.StartAsync"/> makes. A stateless worker: it holds nothing and every silo has the same registries.
/// </summary>
[StatelessWorker]
public sealed class RunConfigGrain(TaskCatalog tasks) : Grain, IRunConfigGrain
{
    public Task<string?> CheckAsync(RunConfig config, CancellationToken cancellationToken = default) => Task.FromResult(Problem(config, tasks));

    public Task<RunConfig> ResolveAsync(RunConfig config, CancellationToken cancellationToken = default)
    {
        if (Problem(config, tasks) is { } problem)
        {
            throw new ArgumentException(problem, nameof(config));
        }

        var resolved = ResolvedAlgorithm.ForRun(config);
        return Task.FromResult(config with
        {
            Objective = new(resolved.DescribeObjective()),
            Trainer = new(resolved.DescribeTrainer()),
            Branching = resolved.Branching ?? config.Branching,
        });
    }

    /// <summary>The first reason the run grain would refuse <paramref name="config"/>, in the order it checks; null when none.</summary>
    public static string? Problem(RunConfig config, TaskCatalog tasks)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tasks);
        var problems = config.Validate().ToList();
        if (problems.Count > 0)
        {
            return "invalid run configuration: " + string.Join("; ", problems);
        }

        try
        {
            ResolvedAlgorithm.ForRun(config);
        }
        catch (ArgumentException e)
        {
            return e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : e.Message;
        }

        return tasks.Problem(config.Task, config.TaskOptions, config.WarmStarts());
    }
}
