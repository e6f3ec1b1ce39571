using System.CommandLine;
using System.Globalization;
using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Tasks;
using AgentRl.Abstractions.Training;
using AgentRl.Client;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl eval</c>: greedy pass@1 of a checkpoint on a task's held-out split, as a run's Evaluate phase measures it.
/// <c>--run RUN [--step N]</c> evaluates the checkpoint a run recorded for a step (<c>run_state.json</c>) with the run's own
/// task, task options, limits, held-out items and seeds; <c>--checkpoint DIR</c> evaluates any model directory with the
/// defaults of a new run (<see cref="RunConfig"/>). Flags given override either.
/// </summary>
public static class EvalCommands
{
    public static Command Create(CliContext context)
    {
        var defaults = new RunConfig();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Model directory (Hugging Face layout), e.g. runs/RUN/checkpoints/v000042." };
        var run = new Option<string?>("--run") { Description = "A run under --run-dir: evaluates its checkpoint of --step with the run's task, task options, limits and held-out items." };
        var step = new Option<int?>("--step") { Description = "With --run: the step whose checkpoint to evaluate (0 = the warm start; default the last recorded)." };
        var runDir = new Option<string>("--run-dir") { Description = "With --run: the folder of run artifacts.", DefaultValueFactory = _ => defaults.RunDir };
        var task = new Option<string?>("--task") { Description = $"Task to evaluate on (default {defaults.Task}; with --run the run's)." };
        var taskOption = new Option<string[]>("--task-option") { Description = "A task option NAME=VALUE (repeatable; with --run on top of the run's taskOptions).", DefaultValueFactory = _ => [] };
        var count = new Option<int?>("--n") { Description = $"Held-out items (default {defaults.EvalSize}; with --run the run's evalSize)." };
        var seed = new Option<int?>("--seed") { Description = $"Seed of the held-out items (default {defaults.Seed}; with --run the run's seed, so the items its evaluations used)." };
        var show = new Option<int>("--show") { Description = "Print this many conversations.", DefaultValueFactory = _ => 1 };
        var maxTurns = new Option<int?>("--max-turns") { Description = $"Turns per episode (default limits.maxTurns = {defaults.Limits.MaxTurns}; with --run the run's)." };
        var contextBudget = new Option<int?>("--context") { Description = $"Context budget in tokens (default limits.contextBudget = {defaults.Limits.ContextBudget}; with --run the run's)." };
        var command = new Command("eval", "Evaluate a checkpoint, or a run's checkpoint of a step with the run's settings, on a task's held-out split (greedy pass@1).")
        {
            checkpoint, run, step, runDir, task, taskOption, count, seed, show, maxTurns, contextBudget,
        };
        command.SetAction(async (parse, ct) =>
        {
            // Applies the flags on top of the target's settings and checks the task and its options (exit 2 when wrong).
            async Task<EvalTarget?> PrepareAsync(Func<Task<EvalTarget>> resolve)
            {
                try
                {
                    var target = await resolve();
                    var options = new Dictionary<string, string>(target.Config.TaskOptions, StringComparer.OrdinalIgnoreCase);
                    foreach (var (name, value) in ParseTaskOptions(parse.GetValue(taskOption)!))
                    {
                        options[name] = value;
                    }

                    var config = target.Config with
                    {
                        Task = parse.GetValue(task) ?? target.Config.Task,
                        TaskOptions = options,
                        EvalSize = parse.GetValue(count) ?? target.Config.EvalSize,
                        Seed = parse.GetValue(seed) ?? target.Config.Seed,
                        Limits = target.Config.Limits with
                        {
                            MaxTurns = parse.GetValue(maxTurns) ?? target.Config.Limits.MaxTurns,
                            ContextBudget = parse.GetValue(contextBudget) ?? target.Config.Limits.ContextBudget,
                        },
                    };
                    return target with { Config = config };
                }
                catch (Exception e) when (e is EvalTargetException or ArgumentException)
                {
                    await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                    return null;
                }
            }

            // --checkpoint DIR is checked before anything starts; --run RUN is read through the cluster (the run
            // directory as the silos see it), so it is resolved once connected.
            var runId = parse.GetValue(run);
            var prepared = runId is null || parse.GetValue(checkpoint) is not null
                ? await PrepareAsync(() => ResolveAsync(parse.GetValue(checkpoint), runId, parse.GetValue(step), parse.GetValue(runDir)!, defaults, null, context.IsEmbedded(parse), ct))
                : null;
            if (prepared is null && (runId is null || parse.GetValue(checkpoint) is not null))
            {
                return 2;
            }

            return await context.RunAsync(parse, async (connection, output) =>
                {
                    if (prepared is null)
                    {
                        prepared = await PrepareAsync(() => ResolveAsync(null, runId, parse.GetValue(step), parse.GetValue(runDir)!, defaults, connection.Client.GetGrain<IRunFilesGrain>(parse.GetValue(runDir)!), cancellationToken: ct));
                        if (prepared is null)
                        {
                            return 2;
                        }
                    }

                    var target = prepared;
                    var c = target.Config;
                    if (await connection.Client.GetGrain<ITaskCatalogGrain>(0).ValidateAsync(c.Task, c.TaskOptions, cancellationToken: ct) is { } problem)
                    {
                        await Console.Error.WriteLineAsync($"agentrl: {problem}");
                        return 2;
                    }

                    if (target.Description is { } description)
                    {
                        output.WriteLine(description);
                    }

                    // The Evaluate phase's episodes, through the client library: the same items (from the cluster's task
                    // catalog), limits, task options and seeds as EvaluationPhase.
                    var result = await connection.Api.EvaluateAsync(target.Directory, c.Task, new EvaluationOptions(c.EvalSize, c.Seed, c.TaskOptions, c.Limits), ct);
                    foreach (var t in result.Trajectories.Take(parse.GetValue(show)))
                    {
                        TrajectoryText.Write(output, $"--- {t.GroupId} reward {t.Reward:0.00} finish {t.FinishReason}", t.Conversation.Select(TrajectoryMessage.From));
                    }

                    output.WriteLine(result.Items == 0
                        ? $"{c.Task}: no held-out items (--n 0)"
                        : string.Create(CultureInfo.InvariantCulture, $"{c.Task}: accuracy {result.Solved}/{result.Items} = {result.Accuracy:P1}, reward {result.MeanReward:0.000}, tool calls/traj {result.ToolCallsPerTrajectory:0.00}"));
                    return 0;
                }, ct);
        });
        return command;
    }

    /// <summary>What <c>eval</c> evaluates: a model directory and the settings to evaluate it with.</summary>
    /// <param name="Directory">The model directory (absolute).</param>
    /// <param name="Config">Task, task options, limits, held-out items and seed; the rest unused.</param>
    /// <param name="Description">A line saying which run step and version, for <c>--run</c>.</param>
    public sealed record EvalTarget(string Directory, RunConfig Config, string? Description = null);

    /// <summary>A reason <c>eval</c> cannot start: a usage or lookup error (exit 2).</summary>
    public sealed class EvalTargetException(string message) : Exception(message);

    /// <summary>
    /// The directory and settings of <c>--checkpoint DIR</c> (with <paramref name="defaults"/>) or of <c>--run RUN [--step N]</c>
    /// (the run's configuration and the checkpoint it recorded for the step).
    /// </summary>
    /// <exception cref="EvalTargetException">Both or neither given, a missing directory, an unknown run, a step with no recorded or kept checkpoint.</exception>
    /// <remarks>With <c>localCheckpoint</c> (an embedded silo) <c>--checkpoint DIR</c> is checked on this machine's disk; against a cluster the directory is the silos' and is passed on as given.</remarks>
    public static async Task<EvalTarget> ResolveAsync(string? checkpoint, string? run, int? step, string runDir, RunConfig defaults, IRunFilesGrain? files, bool localCheckpoint = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        if ((checkpoint is null) == (run is null))
        {
            throw new EvalTargetException("give either --checkpoint DIR or --run RUN [--step N].");
        }

        if (checkpoint is not null)
        {
            if (step is not null)
            {
                throw new EvalTargetException("--step goes with --run RUN; --checkpoint names one checkpoint directory.");
            }

            if (!localCheckpoint)
            {
                return new EvalTarget(checkpoint, defaults);
            }

            var directory = Path.GetFullPath(checkpoint);
            if (!System.IO.Directory.Exists(directory))
            {
                throw new EvalTargetException($"the checkpoint directory {directory} does not exist.");
            }

            if (!File.Exists(Path.Combine(directory, "config.json")))
            {
                throw new EvalTargetException($"{directory} has no config.json; give a Hugging Face model directory.");
            }

            return new EvalTarget(directory, defaults);
        }

        ArgumentNullException.ThrowIfNull(files);
        return await ResolveRunAsync(files, runDir, run!, step, cancellationToken);
    }

    private static async Task<EvalTarget> ResolveRunAsync(IRunFilesGrain files, string runDir, string run, int? step, CancellationToken cancellationToken)
    {
        if (!RunFiles.IsRunId(run) || await files.LocateAsync(run, cancellationToken) is null)
        {
            throw new EvalTargetException($"no run '{run}' under {runDir} (agentrl runs list --run-dir DIR shows the runs there).{NameSuggestions.DidYouMean(run, await files.ListRunsAsync(cancellationToken))}");
        }

        try
        {
            // Resolved on the silos: the run's state, its checkpoint store and a blob download all live there.
            var checkpoint = await files.ResolveCheckpointAsync(run, step, cancellationToken);
            var c = checkpoint.Config;
            return new EvalTarget(checkpoint.Directory, c, $"run {run} step {checkpoint.Step}: checkpoint {checkpoint.Location} ({c.Task}, {c.EvalSize} held-out items, seed {c.Seed})");
        }
        catch (ArgumentException e)
        {
            throw new EvalTargetException(e.Message);
        }
    }

    /// <summary><c>--task-option NAME=VALUE</c> pairs.</summary>
    /// <exception cref="EvalTargetException">An option without <c>=</c> or a name.</exception>
    public static IReadOnlyList<(string Name, string Value)> ParseTaskOptions(IEnumerable<string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var parsed = new List<(string, string)>();
        foreach (var option in options)
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new EvalTargetException($"--task-option '{option}' is not NAME=VALUE (agentrl tasks list shows each task's options).");
            }

            parsed.Add((option[..equals].Trim(), option[(equals + 1)..]));
        }

        return parsed;
    }
}
