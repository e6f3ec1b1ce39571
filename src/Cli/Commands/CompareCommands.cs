using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Client;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl compare</c>: trains each algorithm × seed on the same data and budget, one run after another, then writes a
/// table of final held-out accuracy (mean ± sample std over seeds), tool calls per trajectory and per solved question
/// (final greedy evaluation) and wall time, as markdown to stdout and <c>compare.md</c> / <c>compare.csv</c> in the
/// comparison's folder. By default the warm start is shared: one <c>agentrl sft</c> run per seed, from which every
/// algorithm's run of that seed starts (<see cref="RunConfig.InitFrom"/>), so the algorithms differ only in their RL.
/// </summary>
public static class CompareCommands
{
    /// <summary>One finished run of the comparison.</summary>
    public sealed record RunOutcome(string Algorithm, int Seed, string State, double? FinalAccuracy, double? WarmStartAccuracy, double? ToolCallsPerTrajectory, double? ToolCallsPerSolved, double WallSeconds, string RunDirectory, string? Error = null, double? BaselineAccuracy = null, double? ForksPerPrompt = null, double? RlSeconds = null, double? TrainingToolCalls = null);

    /// <summary>One table row: an algorithm over its seeds.</summary>
    public sealed record Summary(string Algorithm, int Runs, int Completed, double? AccuracyMean, double? AccuracySpread, double? ToolCallsPerTrajectory, double? ToolCallsPerSolved, double WallSecondsMean, double? WarmStartAccuracyMean = null, double? BaselineAccuracyMean = null, double? BaselineAccuracySpread = null, double? GainMean = null, double? GainSpread = null, double? ForksPerPrompt = null, double? TrainingToolCalls = null);

    /// <summary>metrics.csv's column of the metric <c>tools/calls_made</c> (RolloutMetrics.CallsMadeMetric, a full-name column).</summary>
    public const string CallsMadeColumn = "tools/calls_made";

    /// <summary>A seed's shared warm start (an <c>agentrl sft</c> run) and the algorithm runs that start from it.</summary>
    public sealed record SeedPlan(int Seed, RunConfig? WarmStart, IReadOnlyList<RunConfig> Runs);

    /// <summary>The run id of a comparison's shared warm start of <paramref name="seed"/>.</summary>
    public static string WarmStartRunId(int seed) => $"warmstart-seed{seed}";

    /// <summary>Names of <c>--warm-start</c>.</summary>
    public const string SharedWarmStart = "shared", OwnWarmStart = "each";

    public static Command Create(CliContext context)
    {
        var task = new Option<string?>("--task") { Description = "Task (default arithmetic)." };
        var algorithms = new Option<string>("--algorithms") { Description = "Comma-separated algorithms.", DefaultValueFactory = _ => "grpo,arpo,aepo" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per algorithm (0 … n−1, each seed the same data for every algorithm).", DefaultValueFactory = _ => 3 };
        var steps = new Option<int?>("--steps") { Description = "RL steps of every run." };
        var runDir = new Option<string?>("--run-dir") { Description = "Folder for run artifacts (default runs); the comparison goes to {run-dir}/compare-{utc time}/." };
        var set = new Option<string[]>("--set") { Description = "Override a field of every run: key=value, as for agentrl train.", AllowMultipleArgumentsPerToken = false };
        var warmStart = new Option<string>("--warm-start")
        {
            Description = "shared (default): one warm start per seed (an sft run), every algorithm's run of that seed starts from it; each: every run does its own.",
            DefaultValueFactory = _ => SharedWarmStart,
        };
        var warmStartFrom = new Option<string?>("--warm-start-from")
        {
            Description = "Reuse the shared warm starts of an earlier comparison: its folder, holding warmstart-seed{s} runs of the same configuration.",
        };
        var baseline = new Option<string>("--baseline")
        {
            Description = "none (default): RL runs only; sft-equal-time: after each run, its warm start trained on with SFT for the run's RL wall time, evaluated on the same items (a column of its own).",
            DefaultValueFactory = _ => RunConfig.Baselines.None,
        };
        var command = new Command("compare", "Train several algorithms × seeds on the same data and budget, one after another, and tabulate held-out accuracy, tool calls and wall time.")
        {
            task, algorithms, seeds, steps, runDir, set, warmStart, baseline, warmStartFrom,
        };
        command.SetAction(async (parse, ct) =>
        {
            List<SeedPlan> plans;
            string folder;
            try
            {
                var names = parse.GetValue(algorithms)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var seedCount = parse.GetValue(seeds);
                if (names.Length == 0 || seedCount < 1)
                {
                    throw new ArgumentException("--algorithms needs at least one name and --seeds at least 1.");
                }

                var mode = parse.GetValue(warmStart);
                if (mode is not (SharedWarmStart or OwnWarmStart))
                {
                    throw new ArgumentException($"--warm-start must be {SharedWarmStart} or {OwnWarmStart}, not '{mode}'.");
                }

                var against = parse.GetValue(baseline)!;
                if (!RunConfig.Baselines.Names.Contains(against))
                {
                    throw new ArgumentException($"--baseline must be one of {string.Join(", ", RunConfig.Baselines.Names)}, not '{against}'.");
                }

                var root = parse.GetValue(runDir) ?? new RunConfig().RunDir;
                folder = Path.Combine(root, "compare-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
                var sets = (parse.GetValue(set) ?? []).ToList();
                var reuse = parse.GetValue(warmStartFrom) is { } from ? Path.GetFullPath(from) : null;
                if (reuse is not null && mode != SharedWarmStart)
                {
                    throw new ArgumentException($"--warm-start-from reuses shared warm starts; it does not combine with --warm-start {OwnWarmStart}.");
                }

                for (var seed = 0; reuse is not null && seed < seedCount; seed++)
                {
                    var warm = Path.Combine(reuse, WarmStartRunId(seed));
                    if (!File.Exists(Path.Combine(warm, RunStateFile.FileName)))
                    {
                        throw new ArgumentException($"--warm-start-from: {warm} has no {RunStateFile.FileName} (it needs the warm start of every seed 0 … {seedCount - 1}).");
                    }
                }

                plans = Plan(names, seedCount, mode == SharedWarmStart, reuse, (name, seed) =>
                    TrainCommands.Resolve(null, parse.GetValue(task), name, parse.GetValue(steps), seed, folder, sets) with { Baseline = against });
            }
            catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException)
            {
                await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                return 2;
            }

            return await CompareAsync(context, parse, plans, folder, Console.Out, ct);
        });
        return command;
    }

    /// <summary>
    /// The runs of a comparison, seed by seed (so a comparison cut short still has every algorithm on its first seeds). With a
    /// shared warm start and a configuration that warm-starts, each seed gets one <c>warmstart-seed{s}</c> run (the first
    /// algorithm's configuration with <see cref="RunConfig.SftOnly"/>) and every algorithm's run starts from its folder.
    /// </summary>
    public static List<SeedPlan> Plan(IReadOnlyList<string> algorithms, int seeds, bool sharedWarmStart, Func<string, int, RunConfig> resolve) =>
        Plan(algorithms, seeds, sharedWarmStart, null, resolve);

    /// <summary>
    /// As <see cref="Plan(IReadOnlyList{string}, int, bool, Func{string, int, RunConfig})"/>; with <paramref name="reuseWarmStarts"/>
    /// (an earlier comparison's folder) every run of seed s starts from its <c>warmstart-seed{s}</c> and none is trained.
    /// </summary>
    public static List<SeedPlan> Plan(IReadOnlyList<string> algorithms, int seeds, bool sharedWarmStart, string? reuseWarmStarts, Func<string, int, RunConfig> resolve) =>
        [.. Enumerable.Range(0, seeds).Select(seed =>
        {
            var runs = algorithms.Select(name => resolve(name, seed) with { RunId = $"{name}-seed{seed}" }).ToList();
            if (!sharedWarmStart || runs[0].SftDemonstrations == 0 || !string.IsNullOrEmpty(runs[0].InitFrom))
            {
                return new SeedPlan(seed, null, runs);
            }

            if (reuseWarmStarts is not null)
            {
                var reused = Path.Combine(reuseWarmStarts, WarmStartRunId(seed));
                return new SeedPlan(seed, null, [.. runs.Select(r => r with { InitFrom = reused })]);
            }

            var warm = runs[0] with { RunId = WarmStartRunId(seed), SftOnly = true };
            var from = Path.GetFullPath(Path.Combine(warm.RunDir, warm.RunId));
            return new SeedPlan(seed, warm, [.. runs.Select(r => r with { InitFrom = from })]);
        })];

    /// <summary>
    /// Each run on its own cluster connection: with the default embedded silo that is a fresh silo per run, so no run
    /// inherits another's published policy versions or warm caches. On a shared cluster (<c>--cluster</c>) the runs share
    /// the policy's registry: each run's trainer starts above the versions of the run before (<see cref="ITrainerGrain.InitializeAsync"/>).
    /// </summary>
    private static async Task<int> CompareAsync(CliContext context, ParseResult parse, IReadOnlyList<SeedPlan> plans, string folder, TextWriter output, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var outcomes = new List<RunOutcome>();
        var warmStarts = new List<RunOutcome>();
        var total = plans.Sum(p => p.Runs.Count + (p.WarmStart is null ? 0 : 1));
        var done = 0;
        foreach (var plan in plans)
        {
            if (plan.WarmStart is { } warm)
            {
                ct.ThrowIfCancellationRequested();
                output.WriteLine($"[{++done}/{total}] warm start, seed {plan.Seed}: {warm.SftDemonstrations} demonstrations, shared by {string.Join(", ", plan.Runs.Select(r => r.Algorithm))}");
                var (code, outcome) = await RunOnConnectionAsync(context, parse, warm, ct);
                if (outcome is null)
                {
                    return code;
                }

                warmStarts.Add(outcome);
                output.WriteLine($"    {StateText(outcome)}; held-out accuracy after warm start {TrainCommands.Percent(outcome.WarmStartAccuracy)}, {outcome.WallSeconds:0} s");
                if (outcome.State != "Completed")
                {
                    // Without its warm start the seed's runs cannot start; they count as failed in the table.
                    foreach (var run in plan.Runs)
                    {
                        done++;
                        outcomes.Add(new RunOutcome(run.Algorithm, run.Seed, "Failed", null, null, null, null, 0, Path.Combine(run.RunDir, run.RunId), $"warm start {warm.RunId} {outcome.State}: {outcome.Error}"));
                    }

                    continue;
                }
            }

            foreach (var config in plan.Runs)
            {
                ct.ThrowIfCancellationRequested();
                output.WriteLine($"[{++done}/{total}] {config.Algorithm}, seed {config.Seed}: {config.Steps} steps × {config.PromptsPerStep} prompts × {config.GroupSize} rollouts{(config.InitFrom is null ? "" : " from the shared warm start")}");
                var (code, outcome) = await RunOnConnectionAsync(context, parse, config, ct);
                if (outcome is null)
                {
                    return code;
                }

                outcomes.Add(outcome);
                output.WriteLine($"    {StateText(outcome)}; held-out accuracy {TrainCommands.Percent(outcome.FinalAccuracy)}, {outcome.WallSeconds:0} s");
            }
        }

        var summaries = Summarize(outcomes);
        var first = plans[0].Runs[0];
        var markdown = Markdown(summaries, first, warmStarts);
        await File.WriteAllTextAsync(Path.Combine(folder, "compare.md"), markdown, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(folder, "compare.csv"), Csv([.. warmStarts.Select(w => w with { Algorithm = "warm-start" }), .. outcomes]), CancellationToken.None);
        output.WriteLine();
        output.Write(markdown);
        output.WriteLine();
        output.WriteLine($"comparison: {Path.GetFullPath(folder)} (compare.md, compare.csv, one run folder per algorithm × seed)");
        return outcomes.All(o => o.State == "Completed") ? 0 : 1;
    }

    private static string StateText(RunOutcome outcome) => outcome.Error is null ? outcome.State : $"{outcome.State}: {outcome.Error}";

    private static async Task<(int Code, RunOutcome? Outcome)> RunOnConnectionAsync(CliContext context, ParseResult parse, RunConfig config, CancellationToken ct)
    {
        RunOutcome? outcome = null;
        var code = await context.RunAsync(parse, async (connection, _) =>
        {
            outcome = await RunOneAsync(connection.Api, config, ct);
            return 0;
        }, ct);
        return (code, outcome);
    }

    private static async Task<RunOutcome> RunOneAsync(AgentRlClient api, RunConfig config, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var run = api.Cluster.GetGrain<ITrainingRunGrain>(config.RunId);
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

        // metrics.csv through the cluster: the run directory is the silos', not necessarily this machine's.
        return Outcome(config, status, await api.GetMetricsAsync(config.RunId, config.RunDir, CancellationToken.None), clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// What a finished run reports: final accuracy from its status, tool calls from its last evaluation row of metrics.csv
    /// (per solved question: none when the evaluation solved nothing, rather than the row's 0).
    /// </summary>
    public static RunOutcome Outcome(RunConfig config, RunStatus status, IReadOnlyList<MetricsRow> metrics, double wallSeconds)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var last = metrics.LastOrDefault(r => r.Values.ContainsKey("eval/tool_calls_per_traj"));
        var perTrajectory = last?.Values["eval/tool_calls_per_traj"];
        var perSolved = last is not null && last.Values.TryGetValue("eval/tool_calls_per_solved", out var solved)
            && !(last.Values.TryGetValue("eval_accuracy", out var accuracy) && accuracy == 0) ? solved : (double?)null;

        // metrics.csv's column of the metric rollout/branches_per_prompt (MetricColumns renames it), present in branching runs.
        var forks = Mean(metrics.Where(r => r.Step > 0).Select(r => r.Values.TryGetValue("branches_per_prompt", out var v) ? v : (double?)null));

        // The tool calls the training rollouts made (tools/calls_made, a shared prefix once), summed over the steps.
        var made = metrics.Where(r => r.Step > 0 && r.Values.ContainsKey(CallsMadeColumn)).ToList();
        double? trainingCalls = made.Count == 0 ? null : made.Sum(r => r.Values[CallsMadeColumn]);
        return new RunOutcome(
            config.Algorithm, config.Seed, status.State.ToString(), status.FinalEvalAccuracy, status.WarmStartEvalAccuracy, perTrajectory, perSolved, wallSeconds, status.RunDirectory, status.Error,
            status.Baseline?.EvalAccuracy, forks, status.Baseline?.RlSeconds, trainingCalls);
    }

    /// <summary>One row per algorithm (in first-seen order): means over completed runs, spread = sample std of accuracy (0 for one run).</summary>
    public static IReadOnlyList<Summary> Summarize(IReadOnlyList<RunOutcome> outcomes) =>
        [.. outcomes.GroupBy(o => o.Algorithm, StringComparer.Ordinal).Select(g =>
        {
            var done = g.Where(o => o.State == "Completed").ToList();
            var (mean, spread) = MeanAndSpread(done.Select(o => o.FinalAccuracy));
            var (baselineMean, baselineSpread) = MeanAndSpread(done.Select(o => o.BaselineAccuracy));
            var (gainMean, gainSpread) = MeanAndSpread(done.Select(o => o.FinalAccuracy - o.BaselineAccuracy));
            return new Summary(
                g.Key, g.Count(), done.Count, mean, spread, Mean(done.Select(o => o.ToolCallsPerTrajectory)), Mean(done.Select(o => o.ToolCallsPerSolved)), g.Average(o => o.WallSeconds), Mean(done.Select(o => o.WarmStartAccuracy)),
                baselineMean, baselineSpread, gainMean, gainSpread, Mean(done.Select(o => o.ForksPerPrompt)), Mean(done.Select(o => o.TrainingToolCalls)));
        })];

    /// <summary>The markdown table; with shared warm starts, a line on them under it.</summary>
    public static string Markdown(IReadOnlyList<Summary> summaries, RunConfig shared, IReadOnlyList<RunOutcome>? warmStarts = null)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Task `{shared.Task}`, {shared.Steps} steps × {shared.PromptsPerStep} prompts × {shared.GroupSize} rollouts per run, held-out accuracy = greedy pass@1 on {shared.EvalSize} items after the last step.");
        text.AppendLine();
        var withBaseline = summaries.Any(x => x.BaselineAccuracyMean is not null);
        var withForks = summaries.Any(x => x.ForksPerPrompt is not null);
        text.AppendLine("| algorithm | runs (completed) | held-out accuracy (mean ± std over seeds) | after warm start |"
            + (withBaseline ? " equal-time SFT (mean ± std) | RL − equal-time SFT (points, mean ± std) |" : "")
            + " tool calls / trajectory | tool calls / solved question | tool calls made in training |" + (withForks ? " forks / prompt |" : "") + " wall time / run |");
        text.AppendLine("|---|---|---|---|" + (withBaseline ? "---|---|" : "") + "---|---|---|" + (withForks ? "---|" : "") + "---|");
        foreach (var s in summaries)
        {
            var accuracy = s.AccuracyMean is { } m ? $"{m * 100:0.0}% ± {s.AccuracySpread!.Value * 100:0.0}" : "-";
            var warm = s.WarmStartAccuracyMean is { } w ? $"{w * 100:0.0}%" : "-";
            var baseline = s.BaselineAccuracyMean is { } b ? $"{b * 100:0.0}% ± {s.BaselineAccuracySpread!.Value * 100:0.0}" : "-";
            var gain = s.GainMean is { } d ? $"{d * 100:+0.0;-0.0;0.0} ± {s.GainSpread!.Value * 100:0.0}" : "-";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {s.Algorithm} | {s.Runs} ({s.Completed}) | {accuracy} | {warm} |{(withBaseline ? $" {baseline} | {gain} |" : "")} {Number(s.ToolCallsPerTrajectory)} | {Number(s.ToolCallsPerSolved)} | {Count(s.TrainingToolCalls)} |{(withForks ? $" {Number(s.ForksPerPrompt)} |" : "")} {s.WallSecondsMean:0} s |");
        }

        if (warmStarts is { Count: > 0 })
        {
            text.AppendLine();
            var completed = warmStarts.Count(w => w.State == "Completed");
            text.AppendLine(CultureInfo.InvariantCulture, $"Warm start shared per seed ({completed} of {warmStarts.Count} completed, {shared.SftDemonstrations} demonstrations, {warmStarts.Average(w => w.WallSeconds):0} s each, not included in the wall time per run); every algorithm's run of a seed starts from the same weights.");
        }

        return text.ToString();
    }

    /// <summary>One line per run.</summary>
    public static string Csv(IReadOnlyList<RunOutcome> outcomes)
    {
        var text = new StringBuilder("algorithm,seed,state,final_eval_accuracy,warmstart_eval_accuracy,tool_calls_per_traj,tool_calls_per_solved,wall_s,run_dir,baseline_eval_accuracy,rl_s,forks_per_prompt,training_tool_calls\n");
        foreach (var o in outcomes)
        {
            text.AppendLine(string.Join(',',
                o.Algorithm, o.Seed.ToString(CultureInfo.InvariantCulture), o.State, Raw(o.FinalAccuracy), Raw(o.WarmStartAccuracy),
                Raw(o.ToolCallsPerTrajectory), Raw(o.ToolCallsPerSolved), o.WallSeconds.ToString("0.###", CultureInfo.InvariantCulture), $"\"{o.RunDirectory}\"",
                Raw(o.BaselineAccuracy), Raw(o.RlSeconds), Raw(o.ForksPerPrompt), Raw(o.TrainingToolCalls)));
        }

        return text.ToString();
    }

    /// <summary>Mean and sample standard deviation (0 for one value) of the values present; nulls when none is.</summary>
    private static (double? Mean, double? Spread) MeanAndSpread(IEnumerable<double?> values)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        if (present.Count == 0)
        {
            return (null, null);
        }

        var mean = present.Average();
        return (mean, present.Count == 1 ? 0.0 : Math.Sqrt(present.Sum(a => (a - mean) * (a - mean)) / (present.Count - 1)));
    }

    private static double? Mean(IEnumerable<double?> values) => MeanAndSpread(values).Mean;

    private static string Number(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Count(double? value) => value is { } v ? v.ToString("#,0", CultureInfo.InvariantCulture) : "-";

    private static string Raw(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
