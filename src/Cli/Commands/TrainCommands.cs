using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Training;
using AgentRl.Cli.Connection;
using AgentRl.Client;
using Spectre.Console;

namespace AgentRl.Cli.Commands;

/// <summary><c>agentrl train</c>: start a training run on the cluster (embedded silo by default) and follow its progress.</summary>
public static class TrainCommands
{
    /// <summary>Run configurations as JSON: camelCase, and numbers must be numbers (<c>{"steps": "3"}</c> is refused).</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict };

    /// <summary>Fields whose value is a map of option names to values, merged key by key and checked where they are resolved.</summary>
    private static readonly string[] MapFields = ["taskOptions", "objective", "trainer"];

    public static Command Create(CliContext context) => Build(context, sftOnly: false);

    /// <summary><c>agentrl sft</c>: only the warm start of a run (the config's <c>sft*</c> fields), as a run that <c>train --resume</c> can continue with RL.</summary>
    public static Command CreateSft(CliContext context) => Build(context, sftOnly: true);

    private static Command Build(CliContext context, bool sftOnly)
    {
        var configFile = new Argument<string?>("config") { Description = "Run configuration JSON (every field optional; see README).", Arity = ArgumentArity.ZeroOrOne };
        var task = new Option<string?>("--task") { Description = "arithmetic (default), kb-multihop, python-math." };
        var algorithm = new Option<string?>("--algorithm") { Description = "grpo (default), drgrpo, rloo, dapo, gspo, reinforce++, and the branching algorithms arpo and aepo (settings under branching.*)." };
        var steps = new Option<int?>("--steps") { Description = "RL steps." };
        var seed = new Option<int?>("--seed") { Description = "Seed." };
        var runDir = new Option<string?>("--run-dir") { Description = "Folder for run artifacts (default runs)." };
        var set = new Option<string[]>("--set") { Description = "Override a field: key=value (camelCase; nested with dots, e.g. limits.contextBudget=200, taskOptions.maxOperations=3).", AllowMultipleArgumentsPerToken = false };
        var printConfig = new Option<bool>("--print-config") { Description = "Print the resolved configuration and exit." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run RUN (under --run-dir) after its last checkpointed step, with its saved configuration plus any overrides (e.g. --steps 60)." };
        var command = sftOnly
            ? new Command("sft", "Warm start only: SFT on a task's gold demonstrations (some flawed), evaluate, checkpoint. Continue with RL by 'agentrl train --resume RUN'.")
            {
                configFile, task, seed, runDir, set, printConfig,
            }
            : new Command("train", "Train a policy with RL on a task: warm start on gold demonstrations, then GRPO-family updates.")
            {
                configFile, task, algorithm, steps, seed, runDir, set, printConfig, resume,
            };
        CliUsage.RefuseOptionLike(command, configFile);
        command.SetAction(async (parse, ct) =>
        {
            // Defaults (or a resumed run's saved configuration), the file, the options, --set: all checked here.
            async Task<RunConfig?> ConfigureAsync(RunStateFile? resumed)
            {
                try
                {
                    var baseConfig = resumed is null ? null : JsonSerializer.SerializeToNode(resumed.Config, Json)!.AsObject();
                    var sets = (parse.GetValue(set) ?? []).ToList();
                    var config = Resolve(parse.GetValue(configFile), parse.GetValue(task), sftOnly ? null : parse.GetValue(algorithm), sftOnly ? null : parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(runDir), sets, baseConfig);
                    config = sftOnly ? config with { SftOnly = true, Steps = 0 } : config;
                    if (resumed is not null)
                    {
                        config = config with { RunId = resumed.Config.RunId, Resume = true, SftOnly = false, RunDir = parse.GetValue(runDir) ?? config.RunDir };
                        var problems = config.Validate().ToList();
                        if (problems.Count > 0)
                        {
                            throw new ArgumentException("invalid run configuration: " + string.Join("; ", problems));
                        }
                    }

                    return config;
                }
                catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                    return null;
                }
            }

            var resumeRun = sftOnly ? null : parse.GetValue(resume);
            if (resumeRun is null)
            {
                if (await ConfigureAsync(null) is not { } config)
                {
                    return 2;
                }

                // Checked and resolved on the cluster, with its algorithm registry and task catalog (plug-ins included).
                return await context.RunAsync(parse, (connection, output) => CheckThenRunAsync(connection, config, parse.GetValue(printConfig), output, context.Signals, ct), ct);
            }

            // --resume RUN: the saved configuration is read through the cluster (the run directory as the silos see it).
            return await context.RunAsync(parse, async (connection, output) =>
            {
                var runs = parse.GetValue(runDir) ?? new RunConfig().RunDir;
                var files = connection.Client.GetGrain<IRunFilesGrain>(runs);
                RunStateFile? state;
                try
                {
                    state = RunFiles.IsRunId(resumeRun) ? await RunStateFile.ReadAsync(files, resumeRun, ct) : null;
                }
                catch (JsonException e)
                {
                    await Console.Error.WriteLineAsync($"agentrl: run '{resumeRun}': {RunStateFile.FileName} is not a run state ({e.Message}).");
                    return 2;
                }

                if (state is null)
                {
                    await Console.Error.WriteLineAsync($"agentrl: run '{resumeRun}' has no {RunStateFile.FileName} under {runs}: nothing to resume.{NameSuggestions.DidYouMean(resumeRun, await files.ListRunsAsync(ct))}");
                    return 2;
                }

                if (await ConfigureAsync(state with { Config = state.Config with { RunId = resumeRun } }) is not { } config)
                {
                    return 2;
                }

                return await CheckThenRunAsync(connection, config, parse.GetValue(printConfig), output, context.Signals, ct);
            }, ct);
        });
        return command;
    }

    /// <summary>
    /// Defaults (or <paramref name="baseConfig"/>, a resumed run's saved configuration), then the JSON file, then the
    /// options, then each <c>--set</c>.
    /// </summary>
    /// <remarks>
    /// The limits are checked here (<see cref="RunConfig.Validate"/>); the algorithm, its overrides and the task are checked
    /// by the cluster, with its registries (<see cref="AgentRlClient.CheckAsync"/>), before anything runs.
    /// </remarks>
    public static RunConfig Resolve(string? file, string? task, string? algorithm, int? steps, int? seed, string? runDir, IReadOnlyList<string> sets, JsonObject? baseConfig = null)
    {
        var node = baseConfig ?? JsonSerializer.SerializeToNode(new RunConfig(), Json)!.AsObject();
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException(Directory.Exists(file) ? $"{file} is a folder; give a configuration JSON file." : $"configuration file {file} not found.");
            }

            JsonNode? parsed;
            try
            {
                parsed = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException e)
            {
                throw new FormatException($"{file}: not valid JSON (line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}): {e.Message.Split(" LineNumber:")[0].Split(" Path:")[0].Trim()}");
            }

            Merge(node, parsed as JsonObject ?? throw new FormatException($"{file}: the configuration must be a JSON object."), file);
        }

        void Put(string key, JsonNode? value)
        {
            if (value is not null)
            {
                node[key] = value;
            }
        }

        Put("task", task is null ? null : JsonValue.Create(task));
        Put("algorithm", algorithm is null ? null : JsonValue.Create(algorithm));
        Put("steps", steps is null ? null : JsonValue.Create(steps.Value));
        Put("seed", seed is null ? null : JsonValue.Create(seed.Value));
        Put("runDir", runDir is null ? null : JsonValue.Create(runDir));
        foreach (var assignment in sets)
        {
            var eq = assignment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"--set '{assignment}': expected key=value.");
            }

            SetPath(node, assignment[..eq].Trim(), assignment[(eq + 1)..], "");
        }

        RunConfig config;
        try
        {
            config = node.Deserialize<RunConfig>(Json) ?? throw new FormatException("empty configuration");
        }
        catch (JsonException e)
        {
            throw new FormatException(IllTyped(e, node));
        }

        // A JSON null for a field that cannot be null (limits, branching, objective, …) is the user's error, not a crash later.
        var nullability = new System.Reflection.NullabilityInfoContext();
        foreach (var property in typeof(RunConfig).GetProperties().Where(p => p.CanWrite && !p.PropertyType.IsValueType))
        {
            if (property.GetValue(config) is null && nullability.Create(property).ReadState == System.Reflection.NullabilityState.NotNull)
            {
                var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                throw new FormatException($"configuration field '{name}' cannot be null; give it a value or leave it out for its default.");
            }
        }

        if (string.IsNullOrWhiteSpace(config.RunId))
        {
            config = config with { RunId = $"{config.Task}-{config.Algorithm}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}" };
        }

        var problems = config.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid run configuration: " + string.Join("; ", problems));
        }

        return config;
    }

    /// <summary>
    /// The cluster's check of <paramref name="config"/> (exit 2 with its problem), then <c>--print-config</c>'s resolved
    /// configuration — the algorithm's objective and trainer options with the overrides applied, the branching preset
    /// filled for a branching algorithm — or the run itself.
    /// </summary>
    private static async Task<int> CheckThenRunAsync(ClusterConnection connection, RunConfig config, bool printConfig, TextWriter output, CliSignals signals, CancellationToken ct)
    {
        if (await connection.Api.CheckAsync(config, ct) is { } problem)
        {
            await Console.Error.WriteLineAsync($"agentrl: {problem}");
            return 2;
        }

        if (printConfig)
        {
            output.WriteLine(JsonSerializer.Serialize(await connection.Api.ResolveAsync(config, ct), Json));
            return 0;
        }

        return await FollowAsync(connection.Client, config, output, signals, ct);
    }

    /// <summary>Merges a configuration fragment into a configuration node (unknown fields are refused, naming <paramref name="where"/>).</summary>
    internal static void Merge(JsonObject target, JsonObject source, string where)
    {
        foreach (var (key, value) in source)
        {
            var match = target.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Key
                ?? throw new FormatException($"{where}: unknown configuration field '{key}'. Valid fields: {string.Join(", ", target.Select(kv => kv.Key))}.{NameSuggestions.DidYouMean(key, target.Select(kv => kv.Key))}");
            if (target[match] is JsonObject inner && value is JsonObject nested)
            {
                if (MapFields.Contains(match))
                {
                    foreach (var (option, optionValue) in nested)
                    {
                        inner[option] = optionValue?.DeepClone();
                    }
                }
                else
                {
                    Merge(inner, nested, where);
                }
            }
            else
            {
                target[match] = value?.DeepClone();
            }
        }
    }

    private static void SetPath(JsonObject root, string path, string text, string prefix)
    {
        var parts = path.Split('.', 2);
        var key = root.FirstOrDefault(kv => string.Equals(kv.Key, parts[0], StringComparison.OrdinalIgnoreCase)).Key
            ?? throw new FormatException($"--set {prefix}{path}: unknown configuration field '{prefix}{parts[0]}'. Valid fields{(prefix.Length > 0 ? $" of {prefix.TrimEnd('.')}" : "")}: {string.Join(", ", root.Select(kv => kv.Key))}.{NameSuggestions.DidYouMean(parts[0], root.Select(kv => kv.Key))}");
        if (parts.Length == 2)
        {
            var inner = root[key] as JsonObject ?? throw new FormatException($"--set {prefix}{path}: '{prefix}{key}' has no fields.");
            if (MapFields.Contains(key))
            {
                // Option maps take any name here; the task or the algorithm registry checks it (and lists the valid ones).
                inner[parts[1]] = text;
                return;
            }

            SetPath(inner, parts[1], text, $"{prefix}{key}.");
            return;
        }

        JsonNode? value;
        try
        {
            value = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            value = JsonValue.Create(text);
        }

        // A list field also takes comma-separated values: --set sftFlaws=skip-tool,wrong-final-answer.
        if (root[key] is JsonArray && value is not JsonArray)
        {
            value = new JsonArray([.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(v => (JsonNode?)JsonValue.Create(v))]);
        }

        root[key] = value;
    }

    /// <summary>A deserialisation failure as the user wrote it: the field, the value and the type it needs.</summary>
    private static string IllTyped(JsonException e, JsonObject node)
    {
        var path = (e.Path ?? "$").TrimStart('$').TrimStart('.');
        JsonNode? value = node;
        Type? type = typeof(RunConfig);
        foreach (var segment in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            value = value is JsonObject o ? o.FirstOrDefault(kv => string.Equals(kv.Key, segment, StringComparison.OrdinalIgnoreCase)).Value : null;
            type = type?.GetProperties().FirstOrDefault(p => string.Equals(p.Name, segment, StringComparison.OrdinalIgnoreCase))?.PropertyType;
        }

        var expected = (Nullable.GetUnderlyingType(type ?? typeof(object)) ?? type) switch
        {
            { } t when t == typeof(int) || t == typeof(long) => "a whole number",
            { } t when t == typeof(double) => "a number",
            { } t when t == typeof(bool) => "true or false",
            { } t when t == typeof(string) => "a string",
            { } t when t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) => "a list",
            { } t when t.IsClass => "an object of fields",
            _ => "another type",
        };
        return path.Length == 0
            ? $"invalid configuration: {e.Message.Split(" Path:")[0]}"
            : $"configuration field '{path}': {value?.ToJsonString() ?? "null"} is not valid; expected {expected}.";
    }

    private static async Task<int> FollowAsync(IClusterClient client, RunConfig config, TextWriter output, CliSignals signals, CancellationToken ct)
    {
        var run = client.GetGrain<ITrainingRunGrain>(config.RunId);
        await run.StartAsync(config, ct);
        output.WriteLine(config.SftOnly
            ? $"run {config.RunId}: warm start only, {config.Task}, {config.SftDemonstrations} demonstrations × {config.SftEpochs} epochs"
            : $"run {config.RunId}: {config.Task}, {config.Algorithm}, {config.Steps} steps × {config.PromptsPerStep} prompts × {config.GroupSize} rollouts{(config.Resume ? " (resumed)" : "")}");

        // Ctrl-C / SIGTERM: the run stops (after the step in flight, or at the warm start's next batch) and is followed to
        // its end; a second signal exits at once, saying what the last checkpoint kept.
        RunStatus? latest = null;
        var resume = ResumeCommand(config);
        signals.Stopping = () => latest is { State: RunState.Training } t
            ? $"stopping after step {t.Step} (the step in flight); then it can be continued with: {resume}"
            : "stopping: the warm start is abandoned at its next batch (it leaves no checkpoint)";
        signals.Kept = () => latest is { CheckpointLocation: not null } k && k.Step > 0 || latest is { State: RunState.Training }
            ? $"kept: the checkpoint after step {Math.Max(0, (latest!.MetricsStep))} in {latest.RunDirectory}; continue with: {resume}"
            : latest is { CheckpointLocation: not null }
                ? $"kept: the warm start's checkpoint in {latest.RunDirectory}; continue with: {resume}"
                : $"nothing kept: the warm start had not finished ({latest?.RunDirectory ?? config.RunId})";
        using var stopOnCancel = ct.Register(() => run.StopAsync(CancellationToken.None));

        // Progress is pushed by the run grain at each phase and step; polled when no push comes for a while.
        await using var follower = new RunProgressFollower(client, config.RunId);
        var status = await RunProgressView.FollowAsync(output, async () => latest = await follower.NextAsync(FollowPollAfter, CancellationToken.None));
        output.WriteLine();
        WriteSummary(output, config, status);
        var code = await ExitCodeAsync(status);
        return code == 0 && signals.Interrupted ? CliSignals.InterruptedExitCode : code;
    }

    private static string ResumeCommand(RunConfig config) =>
        $"agentrl train --resume {config.RunId}{(config.RunDir == new RunConfig().RunDir ? "" : $" --run-dir {config.RunDir}")}";

    /// <summary>The end of a run: held-out accuracy as a small table, then where things are and what to do next.</summary>
    internal static void WriteSummary(TextWriter output, RunConfig config, RunStatus status)
    {
        var table = new Table { Border = TableBorder.Rounded };
        table.AddColumn(status.RunId).AddColumn(new TableColumn("held-out accuracy (greedy pass@1)").RightAligned());
        table.AddRow("initial", Percent(status.InitialEvalAccuracy));
        if (config.SftDemonstrations > 0 || status.WarmStartEvalAccuracy is not null)
        {
            table.AddRow("after warm start", Percent(status.WarmStartEvalAccuracy));
        }

        if (!config.SftOnly)
        {
            table.AddRow($"final (step {status.Step})", Percent(status.FinalEvalAccuracy));
            if (status.WarmStartEvalAccuracy is { } warm && status.FinalEvalAccuracy is { } final)
            {
                table.AddRow("RL change", $"{(final - warm) * 100:+0.0;-0.0;0.0} points");
            }

            if (status.Baseline is { } baseline)
            {
                table.AddRow(
                    string.Create(CultureInfo.InvariantCulture, $"warm start + SFT for RL's {baseline.RlSeconds:0} s"),
                    baseline.State == RunState.Completed
                        ? string.Create(CultureInfo.InvariantCulture, $"{Percent(baseline.EvalAccuracy)} ({baseline.SftSteps} steps, {baseline.SftSeconds:0} s)")
                        : $"{baseline.State}: {baseline.Error}");
                if (baseline.RlGainPoints is { } gain)
                {
                    table.AddRow("RL over equal-time SFT", $"{gain:+0.0;-0.0;0.0} points");
                }
            }
        }

        if (status.WarmStartLoss is { } loss)
        {
            table.AddRow("warm-start loss", loss.ToString("0.0000", CultureInfo.InvariantCulture));
        }

        table.AddRow("wall time", PlainProgress.Duration(status.ElapsedSeconds));
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Write(table);

        output.WriteLine($"run state: {status.State}");
        if (status is { State: RunState.Stopped, CheckpointLocation: null })
        {
            // Stopped during the warm start: no checkpoint, so nothing to report on or resume from.
            output.WriteLine($"artifacts: {status.RunDirectory}");
            output.WriteLine("stopped before the first checkpoint (during the warm start): nothing to resume; start the run again");
            return;
        }

        if (config.SftOnly)
        {
            output.WriteLine($"checkpoint: {status.CheckpointLocation ?? "-"}");
            output.WriteLine($"trainer state: {Path.Combine(status.RunDirectory, RunStateFile.TrainerDirectoryName)} (continue with RL: {ResumeCommand(config)})");
            output.WriteLine($"artifacts: {status.RunDirectory}");
            return;
        }

        output.WriteLine($"artifacts: {status.RunDirectory} (metrics.csv, sft.csv, training.png, TensorBoard events, trajectories/)");
        if (status.State == RunState.Stopped)
        {
            output.WriteLine($"stopped after step {status.Step}; continue with: {ResumeCommand(config)}");
        }
    }

    /// <summary>How long a follower waits for a pushed status before it polls.</summary>
    internal static readonly TimeSpan FollowPollAfter = TimeSpan.FromSeconds(2);

    private static async Task<int> ExitCodeAsync(RunStatus status)
    {
        if (status.State == RunState.Failed)
        {
            await Console.Error.WriteLineAsync($"agentrl: run failed: {status.Error}");
            return 1;
        }

        return 0;
    }

    /// <summary>A run's status in one line, with the phase in flight (<c>runs status</c>, the live display's RL line).</summary>
    internal static string Describe(RunStatus s)
    {
        var m = s.Metrics;
        string Get(string key, string format) => m.TryGetValue(key, out var v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        var eta = s.EtaSeconds is { } e ? PlainProgress.Duration(e) : "-";
        return s.State switch
        {
            RunState.Training => $"step {s.Step}/{s.Steps} [{s.Phase}] reward {Get("rollout/reward_mean", "0.000")} acc {Get("rollout/accuracy", "P1")} tools/traj {Get("tools/calls_per_traj", "0.00")}{(m.GetValueOrDefault("branching/fork_points") > 0 ? $" forks/prompt {Get("rollout/branches_per_prompt", "0.0")} ΔH {Get("branching/delta_entropy_mean", "0.00")}" : "")} tok/s {Get("perf/tokens_per_s", "0")} v{s.PolicyVersion} eval {Percent(s.FinalEvalAccuracy)} ETA {eta}",
            RunState.WarmStart when s.WarmStart is { Stage: WarmStartStage.Demonstrations or WarmStartStage.Sft } w => $"{PlainProgress.DescribeState(s)} {PlainProgress.DescribeWarmStart(w)}",
            _ => PlainProgress.DescribeState(s),
        };
    }

    internal static string Percent(double? value) => value is { } v ? v.ToString("P1", CultureInfo.InvariantCulture) : "-";
}
