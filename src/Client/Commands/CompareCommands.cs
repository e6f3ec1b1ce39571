using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;

namespace AgentRl.Client.Commands;

/// <summary>
/// <c>agentrl compare</c>: trains each algorithm × seed on the same data and budget, one run after another, then writes a
/// table of final held-out accuracy (mean ± sample std over seeds), tool calls per trajectory and per solved question
/// (final greedy evaluation) and wall time, as markdown to stdout and <c>compare.md</c> / <c>compare.csv</c> in the
/// comparison's folder.
/// </summary>
public static class CompareCommands
{
    /// <summary>One finished run of the comparison.</summary>
    public sealed record RunOutcome(string Algorithm, int Seed, string State, double? FinalAccuracy, double? WarmStartAccuracy, double? ToolCallsPerTrajectory, double? ToolCallsPerSolved, double WallSeconds, string RunDirectory, string? Error = null);

    /// <summary>One table row: an algorithm over its seeds.</summary>
    public sealed record Summary(string Algorithm, int Runs, int Completed, double? AccuracyMean, double? AccuracySpread, double? ToolCallsPerTrajectory, double? ToolCallsPerSolved, double WallSecondsMean);

    public static Command Create(CliContext context)
    {
        var task = new Option<string?>("--task") { Description = "Task (default arithmetic)." };
        var algorithms = new Option<string>("--algorithms") { Description = "Comma-separated algorithms.", DefaultValueFactory = _ => "grpo,arpo,aepo" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per algorithm (0 … n−1, each seed the same data for every algorithm).", DefaultValueFactory = _ => 3 };
        var steps = new Option<int?>("--steps") { Description = "RL steps of every run." };
        var runDir = new Option<string?>("--run-dir") { Description = "Folder for run artifacts (default runs); the comparison goes to {run-dir}/compare-{utc time}/." };
        var set = new Option<string[]>("--set") { Description = "Override a field of every run: key=value, as for agentrl train.", AllowMultipleArgumentsPerToken = false };
        var command = new Command("compare", "Train several algorithms × seeds on the same data and budget, one after another, and tabulate held-out accuracy, tool calls and wall time.")
        {
            task, algorithms, seeds, steps, runDir, set,
        };
        command.SetAction(async (parse, ct) =>
        {
            List<RunConfig> configs;
            string folder;
            try
            {
                var names = parse.GetValue(algorithms)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var seedCount = parse.GetValue(seeds);
                if (names.Length == 0 || seedCount < 1)
                {
                    throw new ArgumentException("--algorithms needs at least one name and --seeds at least 1.");
                }

                var root = parse.GetValue(runDir) ?? new RunConfig().RunDir;
                folder = Path.Combine(root, "compare-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
                var sets = (parse.GetValue(set) ?? []).ToList();
                configs = [.. names.SelectMany(name => Enumerable.Range(0, seedCount).Select(seed =>
                    TrainCommands.Resolve(null, parse.GetValue(task), name, parse.GetValue(steps), seed, folder, sets) with { RunId = $"{name}-seed{seed}" }))];
            }
            catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException)
            {
                await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                return 2;
            }

            return await CompareAsync(context, parse, configs, folder, Console.Out, ct);
        });
        return command;
    }

    /// <summary>
    /// Each run on its own cluster connection: with the default embedded silo that is a fresh silo per run, so no run
    /// inherits another's published policy versions or warm caches. On a shared cluster (<c>--cluster</c>) the runs share
    /// the policy's registry, so the policy's versions must keep rising from run to run.
    /// </summary>
    private static async Task<int> CompareAsync(CliContext context, ParseResult parse, IReadOnlyList<RunConfig> configs, string folder, TextWriter output, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var outcomes = new List<RunOutcome>();
        foreach (var config in configs)
        {
            ct.ThrowIfCancellationRequested();
            output.WriteLine($"[{outcomes.Count + 1}/{configs.Count}] {config.Algorithm}, seed {config.Seed}: {config.Steps} steps × {config.PromptsPerStep} prompts × {config.GroupSize} rollouts");
            RunOutcome? outcome = null;
            var code = await context.RunAsync(parse, async (connection, _) =>
            {
                outcome = await RunOneAsync(connection.Client, config, ct);
                return 0;
            }, ct);
            if (outcome is null)
            {
                return code;
            }

            outcomes.Add(outcome);
            output.WriteLine($"    {outcome.State}{(outcome.Error is null ? "" : $": {outcome.Error}")}; held-out accuracy {TrainCommands.Percent(outcome.FinalAccuracy)}, {outcome.WallSeconds:0} s");
        }

        var summaries = Summarize(outcomes);
        var markdown = Markdown(summaries, configs[0]);
        await File.WriteAllTextAsync(Path.Combine(folder, "compare.md"), markdown, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(folder, "compare.csv"), Csv(outcomes), CancellationToken.None);
        output.WriteLine();
        output.Write(markdown);
        output.WriteLine();
        output.WriteLine($"comparison: {Path.GetFullPath(folder)} (compare.md, compare.csv, one run folder per algorithm × seed)");
        return outcomes.All(o => o.State == "Completed") ? 0 : 1;
    }

    private static async Task<RunOutcome> RunOneAsync(IClusterClient client, RunConfig config, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var run = client.GetGrain<ITrainingRunGrain>(config.RunId);
        await run.StartAsync(config, ct);
        RunStatus status;
        using (ct.Register(() => run.StopAsync(CancellationToken.None)))
        {
            while (true)
            {
                status = await run.GetStatusAsync(CancellationToken.None);
                if (status.IsFinished)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        }

        return Outcome(config, status, clock.Elapsed.TotalSeconds);
    }

    /// <summary>What a finished run reports: final accuracy from its status, tool calls from its last evaluation row of metrics.csv.</summary>
    public static RunOutcome Outcome(RunConfig config, RunStatus status, double wallSeconds)
    {
        double? perTrajectory = null, perSolved = null;
        var csv = Path.Combine(status.RunDirectory, MetricsCsvWriter.FileName);
        if (File.Exists(csv))
        {
            var last = MetricsCsvWriter.Read(csv).LastOrDefault(r => r.Values.ContainsKey("eval/tool_calls_per_traj"));
            perTrajectory = last?.Values["eval/tool_calls_per_traj"];
            perSolved = last is not null && last.Values.TryGetValue("eval/tool_calls_per_solved", out var solved) ? solved : null;
        }

        return new RunOutcome(config.Algorithm, config.Seed, status.State, status.FinalEvalAccuracy, status.WarmStartEvalAccuracy, perTrajectory, perSolved, wallSeconds, status.RunDirectory, status.Error);
    }

    /// <summary>One row per algorithm (in first-seen order): means over completed runs, spread = sample std of accuracy (0 for one run).</summary>
    public static IReadOnlyList<Summary> Summarize(IReadOnlyList<RunOutcome> outcomes) =>
        [.. outcomes.GroupBy(o => o.Algorithm, StringComparer.Ordinal).Select(g =>
        {
            var done = g.Where(o => o.State == "Completed").ToList();
            var accuracies = done.Where(o => o.FinalAccuracy is not null).Select(o => o.FinalAccuracy!.Value).ToList();
            double? mean = accuracies.Count == 0 ? null : accuracies.Average();
            double? spread = accuracies.Count switch
            {
                0 => null,
                1 => 0.0,
                _ => Math.Sqrt(accuracies.Sum(a => (a - mean!.Value) * (a - mean.Value)) / (accuracies.Count - 1)),
            };
            return new Summary(g.Key, g.Count(), done.Count, mean, spread, Mean(done.Select(o => o.ToolCallsPerTrajectory)), Mean(done.Select(o => o.ToolCallsPerSolved)), g.Average(o => o.WallSeconds));
        })];

    /// <summary>The markdown table.</summary>
    public static string Markdown(IReadOnlyList<Summary> summaries, RunConfig shared)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Task `{shared.Task}`, {shared.Steps} steps × {shared.PromptsPerStep} prompts × {shared.GroupSize} rollouts per run, held-out accuracy = greedy pass@1 on {shared.EvalSize} items after the last step.");
        text.AppendLine();
        text.AppendLine("| algorithm | runs (completed) | held-out accuracy (mean ± std over seeds) | tool calls / trajectory | tool calls / solved question | wall time / run |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var s in summaries)
        {
            var accuracy = s.AccuracyMean is { } m ? $"{m * 100:0.0}% ± {s.AccuracySpread!.Value * 100:0.0}" : "-";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {s.Algorithm} | {s.Runs} ({s.Completed}) | {accuracy} | {Number(s.ToolCallsPerTrajectory)} | {Number(s.ToolCallsPerSolved)} | {s.WallSecondsMean:0} s |");
        }

        return text.ToString();
    }

    /// <summary>One line per run.</summary>
    public static string Csv(IReadOnlyList<RunOutcome> outcomes)
    {
        var text = new StringBuilder("algorithm,seed,state,final_eval_accuracy,warmstart_eval_accuracy,tool_calls_per_traj,tool_calls_per_solved,wall_s,run_dir\n");
        foreach (var o in outcomes)
        {
            text.AppendLine(string.Join(',',
                o.Algorithm, o.Seed.ToString(CultureInfo.InvariantCulture), o.State, Raw(o.FinalAccuracy), Raw(o.WarmStartAccuracy),
                Raw(o.ToolCallsPerTrajectory), Raw(o.ToolCallsPerSolved), o.WallSeconds.ToString("0.###", CultureInfo.InvariantCulture), $"\"{o.RunDirectory}\""));
        }

        return text.ToString();
    }

    private static double? Mean(IEnumerable<double?> values)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        return present.Count == 0 ? null : present.Average();
    }

    private static string Number(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Raw(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
