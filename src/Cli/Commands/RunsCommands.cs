using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Training;
using AgentRl.Client;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl runs list|status|stop|diff</c>: the runs under a run directory. A run's state comes from the cluster when it
/// knows the run (the run grain's status), else from <c>run_state.json</c>; a run whose file says it is still going but
/// which the cluster does not know is <c>Interrupted</c> (resume it with <c>agentrl train --resume RUN</c>).
/// </summary>
public static class RunsCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("runs", "List training runs, show one's status, stop one.");
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Status(context));
        command.Subcommands.Add(Stop(context));
        command.Subcommands.Add(Diff(context));
        command.Subcommands.Add(Show(context));
        return command;
    }

    private static Option<string> RunDirOption() => new("--run-dir")
    {
        Description = "Folder of run artifacts.",
        DefaultValueFactory = _ => new RunConfig().RunDir,
    };

    private static Command List(CliContext context)
    {
        var runDir = RunDirOption();
        var json = new Option<bool>("--json") { Description = "Print JSON (runId, state, stepsDone, steps, lastEvalAccuracy, path) instead of a table." };
        var command = new Command("list", "Runs under the run directory: id, state, steps done, last eval accuracy, path.") { runDir, json };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            // Through the cluster: the run directory as the silos see it, not this machine's disk.
            var runs = await connection.Api.ListRunsAsync(parse.GetValue(runDir)!, ct);

            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(runs, CliContext.JsonOptions));
                return 0;
            }

            if (runs.Count == 0)
            {
                output.WriteLine($"no runs under {parse.GetValue(runDir)}");
                return 0;
            }

            var rows = new List<string[]> { new[] { "RUN", "STATE", "STEPS", "EVAL", "PATH" } };
            rows.AddRange(runs.Select(r => new[] { r.RunId, r.State, r.StepsDone.ToString(CultureInfo.InvariantCulture), TrainCommands.Percent(r.LastEvalAccuracy), r.Path }));

            var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows)
            {
                output.WriteLine(string.Join("  ", row.Select((cell, c) => c < 4 ? cell.PadRight(widths[c]) : cell)));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command Status(CliContext context)
    {
        var runDir = RunDirOption();
        var run = new Argument<string>("run") { Description = "Run id." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing a live run's progress (pushed by the run) until it ends." };
        var command = new Command("status", "A run's status: from the cluster when it knows the run, else from its files.") { run, runDir, follow };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var id = parse.GetValue(run)!;
            var live = await LiveStatusAsync(connection.Client, id, ct);
            if (live is not null && parse.GetValue(follow) && !live.IsFinished)
            {
                // The display `agentrl train` shows; Ctrl-C stops following, not the run.
                context.Signals.Stopping = () => $"stopped following {live.RunId}; the run goes on (agentrl runs stop {live.RunId} stops it)";
                await using var follower = new RunProgressFollower(connection.Client, live.RunId);
                live = await RunProgressView.FollowAsync(output, () => follower.NextAsync(TrainCommands.FollowPollAfter, ct));
            }

            if (live is not null)
            {
                output.WriteLine($"{live.RunId}: {TrainCommands.Describe(live)} (from the cluster)");
                output.WriteLine($"  step {live.Step}/{live.Steps}, policy version {live.PolicyVersion}, eval: initial {TrainCommands.Percent(live.InitialEvalAccuracy)}, warm start {TrainCommands.Percent(live.WarmStartEvalAccuracy)}, last {TrainCommands.Percent(live.FinalEvalAccuracy)}");
                output.WriteLine($"  checkpoint {live.CheckpointLocation ?? "-"}");
                output.WriteLine($"  silo {live.Silo ?? "-"}, recoveries after a lost silo {live.Recoveries}");
                output.WriteLine($"  path {live.RunDirectory}");
                if (live.Error is not null)
                {
                    output.WriteLine($"  error {live.Error}");
                }

                return 0;
            }

            var files = connection.Client.GetGrain<IRunFilesGrain>(parse.GetValue(runDir)!);
            var directory = RunFiles.IsRunId(id) ? await files.LocateAsync(id, ct) : null;
            if (directory is null)
            {
                await Console.Error.WriteLineAsync($"agentrl: run '{id}' is neither known to the cluster nor found under {parse.GetValue(runDir)}.{NameSuggestions.DidYouMean(id, await files.ListRunsAsync(ct))}");
                return 2;
            }

            var summary = (await connection.Api.GetRunAsync(id, parse.GetValue(runDir)!, ct))!;
            var state = await ReadStateAsync(files, id, ct);
            output.WriteLine($"{summary.RunId}: {summary.State} (from {Path.Combine(directory, RunStateFile.FileName)})");
            output.WriteLine($"  steps done {summary.StepsDone}{(state is null ? "" : $"/{state.Config.Steps}")}, policy version {state?.PolicyVersion.ToString(CultureInfo.InvariantCulture) ?? "-"}, eval: initial {TrainCommands.Percent(state?.InitialEvalAccuracy)}, warm start {TrainCommands.Percent(state?.WarmStartEvalAccuracy)}, last {TrainCommands.Percent(summary.LastEvalAccuracy)}");
            output.WriteLine($"  checkpoint {state?.CheckpointLocation ?? "-"}");
            output.WriteLine($"  path {directory}");
            if (state?.Error is not null)
            {
                output.WriteLine($"  error {state.Error}");
            }

            if (summary.State is "Stopped" or "Interrupted" or "Failed" && state?.HasTrainerState == true)
            {
                output.WriteLine($"  resume with: agentrl train --resume {summary.RunId} --run-dir {parse.GetValue(runDir)}");
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command Stop(CliContext context)
    {
        var run = new Argument<string>("run") { Description = "Run id." };
        var command = new Command("stop", "Stop a run after the step in flight; it ends in state Stopped and can be resumed.") { run };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var id = parse.GetValue(run)!;
            var live = await LiveStatusAsync(connection.Client, id, ct);
            if (live is null)
            {
                await Console.Error.WriteLineAsync($"agentrl: the cluster does not know run '{id}' (is --cluster the one it runs on?).");
                return 2;
            }

            if (live.IsFinished)
            {
                output.WriteLine($"{id} already ended: {live.State}");
                return 0;
            }

            await connection.Client.GetGrain<ITrainingRunGrain>(id).StopAsync(ct);
            output.WriteLine($"{id}: stop requested; it stops after step {Math.Max(live.Step, 0)} (the step in flight) and ends in state Stopped.");
            return 0;
        }, ct));
        return command;
    }

    /// <summary>
    /// <c>runs diff RUN_A RUN_B</c>: whether two runs computed the same thing. Exit 0 when they did,
    /// 1 with one line per difference, 2 when a run is missing. The silos compare the two run directories (<see cref="IRunFilesGrain.DiffAsync"/>).
    /// </summary>
    private static Command Diff(CliContext context)
    {
        var runDir = RunDirOption();
        var first = new Argument<string>("run-a") { Description = "A run id under --run-dir, or a run directory." };
        var second = new Argument<string>("run-b") { Description = "The other run." };
        var command = new Command("diff", "Compare two runs: metrics.csv byte for byte, sampled trajectories, and every checkpoint and trainer-state file by SHA-256 (timings.csv is wall clock and left out).") { first, second, runDir };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            // A run id under --run-dir, or a run's folder (its parent is then the run directory), as the silos see it.
            (string Directory, string Id) Locate(string run) => run.Contains('/', StringComparison.Ordinal)
                ? (Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(run)) is { Length: > 0 } parent ? parent : ".", Path.GetFileName(Path.TrimEndingDirectorySeparator(run)))
                : (parse.GetValue(runDir)!, run);
            var (a, b) = (Locate(parse.GetValue(first)!), Locate(parse.GetValue(second)!));
            var differences = await connection.Client.GetGrain<IRunFilesGrain>(a.Directory).DiffAsync(a.Id, b.Id, b.Directory, ct);
            foreach (var difference in differences)
            {
                output.WriteLine($"{difference.File}: {difference.What}");
            }

            output.WriteLine(differences.Count == 0
                ? $"identical: metrics.csv, trajectories and weights of {a.Id} and {b.Id} are the same bytes"
                : $"{differences.Count} difference(s)");
            return differences.Count == 0 ? 0 : 1;
        }, ct));
        return command;
    }

    /// <summary>
    /// <c>runs show RUN [--step N] [--group G]</c>: the trajectories a run logged (<c>trajectories/*.jsonl</c>) for one step
    /// (default the last step logged), printed as <c>agentrl eval --show</c> prints conversations, each headed by its group,
    /// tree path, reward, finish reason, gold answer and reward parts. Needs no cluster. Exit 2 for an unknown run, a step
    /// not logged (the message lists the steps that are) or a group not found (it lists the step's groups).
    /// </summary>
    private static Command Show(CliContext context)
    {
        var runDir = RunDirOption();
        var run = new Argument<string>("run") { Description = "Run id under --run-dir." };
        var step = new Option<long?>("--step") { Description = "The step whose trajectories to print (default the last step logged)." };
        var group = new Option<string?>("--group") { Description = "Only this group: its id (RUN/STEP/I) or its index I within the step." };
        var command = new Command("show", "Print the trajectories a run logged for a step: conversation, gold answer, reward and its parts.") { run, step, group, runDir };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var id = parse.GetValue(run)!;
            var files = connection.Client.GetGrain<IRunFilesGrain>(parse.GetValue(runDir)!);
            var directory = RunFiles.IsRunId(id) ? await files.LocateAsync(id, ct) : null;
            if (directory is null)
            {
                Console.Error.WriteLine($"agentrl: no run '{id}' under {parse.GetValue(runDir)} (agentrl runs list --run-dir DIR shows the runs there).{NameSuggestions.DidYouMean(id, await files.ListRunsAsync(ct))}");
                return 2;
            }

            var records = await TrajectoryRecord.ReadAllAsync(files, id, ct);
            if (records.Count == 0)
            {
                Console.Error.WriteLine($"agentrl: run '{id}' has logged no trajectories ({Path.Combine(directory, RunFiles.TrajectoryFolder)} has none; a warm-start-only run logs none).");
                return 2;
            }

            var steps = records.Select(r => r.Step).Distinct().Order().ToList();
            var chosen = parse.GetValue(step) ?? steps[^1];
            var ofStep = records.Where(r => r.Step == chosen).ToList();
            if (ofStep.Count == 0)
            {
                Console.Error.WriteLine($"agentrl: run '{id}' logged no trajectories at step {chosen}; steps logged: {RunFiles.StepRanges(steps)}.");
                return 2;
            }

            if (parse.GetValue(group) is { Length: > 0 } wanted)
            {
                var ofGroup = ofStep.Where(r => r.GroupId == wanted || r.GroupId.EndsWith("/" + wanted, StringComparison.Ordinal)).ToList();
                if (ofGroup.Count == 0)
                {
                    Console.Error.WriteLine($"agentrl: step {chosen} of run '{id}' has no logged trajectory of group '{wanted}'; groups logged: {string.Join(", ", ofStep.Select(r => r.GroupId).Distinct())}.");
                    return 2;
                }

                ofStep = ofGroup;
            }

            foreach (var record in ofStep)
            {
                TrajectoryText.Write(output, record);
            }

            return 0;
        }, ct));
        return command;
    }

    /// <summary>The run grain's status, or null when the cluster does not know the run (a fresh activation).</summary>
    private static async Task<RunStatus?> LiveStatusAsync(IClusterClient client, string runId, CancellationToken ct)
    {
        var status = await client.GetGrain<ITrainingRunGrain>(runId).GetStatusAsync(ct);
        return status.RunId.Length == 0 ? null : status;
    }

    /// <summary>One run as <c>runs list</c> shows it.</summary>
    /// <summary>A run's <c>run_state.json</c> through the cluster; null when it has none or the file is damaged (then metrics.csv tells).</summary>
    private static async Task<RunStateFile?> ReadStateAsync(IRunFilesGrain files, string runId, CancellationToken ct)
    {
        try
        {
            return await RunStateFile.ReadAsync(files, runId, ct);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
