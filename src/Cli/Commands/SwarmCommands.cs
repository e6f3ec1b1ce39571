using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl swarm</c>: several members train at once on one cluster and share one experience pool (SAPO,
/// docs/ALGORITHMS.md §4). Each member is a run of its own (run grain, trainer, policy id <c>{swarm}-{member}</c>) whose
/// artifacts go to <c>runs/{swarm}/{member}/</c>; the swarm writes <c>runs/{swarm}/swarm.json</c> (its members'
/// configurations), <c>swarm.csv</c> and <c>swarm.png</c>. Members that warm-start the same way share one warm start
/// (<see cref="RunConfig.InitFrom"/>), as <c>agentrl compare</c> does. <c>agentrl pool status POOL</c> shows the pool.
/// </summary>
public static class SwarmCommands
{
    public const string DefinitionFileName = SwarmFiles.DefinitionFileName;

    /// <summary>A swarm ready to start: its name and folder, the shared warm starts, the members.</summary>
    /// <summary>What <c>agentrl swarm</c> runs: the warm starts, then the members.</summary>
    /// <param name="Name">The swarm's name: its folder, its pool by default, and the prefix of the ids it makes.</param>
    /// <param name="Directory">The swarm's folder, holding swarm.json, swarm.csv and a folder per member.</param>
    /// <param name="WarmStarts">Shared warm starts to run first.</param>
    /// <param name="Members">The members to run.</param>
    /// <param name="Completed">On a resume, the members that completed before: not run again, but in the report.</param>
    /// <param name="IsResume">A resume keeps the swarm's saved definition as it is.</param>
    public sealed record SwarmPlan(string Name, string Directory, IReadOnlyList<RunConfig> WarmStarts, IReadOnlyList<RunConfig> Members, IReadOnlyList<RunConfig>? Completed = null, bool IsResume = false)
    {
        /// <summary>Every member of the swarm, in its definition's order where known: the completed ones and those to run.</summary>
        public IReadOnlyList<RunConfig> AllMembers => Completed is { Count: > 0 } done ? [.. done, .. Members] : Members;
    }

    public static Command Create(CliContext context)
    {
        var file = new Argument<string?>("swarm") { Description = "SWARM.json: a list of members, each a run configuration fragment, or {\"name\", \"shared\", \"swarm\", \"members\"}.", Arity = ArgumentArity.ZeroOrOne };
        var members = new Option<int?>("--members") { Description = "Members NAME-m0 … NAME-m(N−1) with seeds 0 … N−1 (when no SWARM.json; default 2)." };
        var local = new Option<int?>("--local") { Description = "I: own groups per step (swarm.local, default 4)." };
        var external = new Option<int?>("--external") { Description = "J: external groups per step (swarm.external, default 4)." };
        var steps = new Option<int?>("--steps") { Description = "RL steps of every member." };
        var task = new Option<string?>("--task") { Description = "Task of every member (default arithmetic)." };
        var name = new Option<string?>("--name") { Description = "The swarm's name: its folder under --run-dir and its pool (default swarm-{utc time})." };
        var runDir = new Option<string?>("--run-dir") { Description = "Folder for artifacts (default runs): the swarm goes to {run-dir}/{name}/." };
        var set = new Option<string[]>("--set") { Description = "Override a field of every member: key=value, as for agentrl train (e.g. swarm.select=recent, swarm.offPolicyCorrection=truncated-is).", AllowMultipleArgumentsPerToken = false };
        var warmStart = new Option<string>("--warm-start") { Description = "shared: members with the same warm-start settings share one; each: every member does its own.", DefaultValueFactory = _ => CompareCommands.SharedWarmStart };
        var resume = new Option<string?>("--resume") { Description = "Continue the swarm NAME (under --run-dir): every member that did not complete resumes after its last checkpoint." };
        var printConfig = new Option<bool>("--print-config") { Description = "Print the members' resolved configurations and exit." };
        var command = new Command("swarm", "Train several policies at once on one cluster, sharing rollouts through an experience pool (SAPO).")
        {
            file, members, local, external, steps, task, name, runDir, set, warmStart, resume, printConfig,
        };
        CliUsage.RefuseOptionLike(command, file);
        command.SetAction(async (parse, ct) =>
        {
            var root = parse.GetValue(runDir) ?? new RunConfig().RunDir;
            async Task<int> PrintOrRunAsync(IClusterClient client, SwarmPlan plan, TextWriter output)
            {
                if (parse.GetValue(printConfig))
                {
                    output.WriteLine(JsonSerializer.Serialize(new { plan.Name, plan.WarmStarts, plan.Members }, TrainCommands.Json));
                    return 0;
                }

                return await RunAsync(client, plan, output, ct);
            }

            // A resumed swarm's definition and its members' states are on the silos: read once connected.
            if (parse.GetValue(resume) is { } resumed)
            {
                return await context.RunAsync(parse, async (connection, output) =>
                {
                    SwarmPlan plan;
                    try
                    {
                        plan = await ResumePlanAsync(connection.Client, root, resumed, ct);
                    }
                    catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException)
                    {
                        await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                        return 2;
                    }

                    return await PrintOrRunAsync(connection.Client, plan, output);
                }, ct);
            }

            SwarmPlan planned;
            try
            {
                planned = Plan(parse.GetValue(file), parse.GetValue(members), parse.GetValue(local), parse.GetValue(external), parse.GetValue(steps), parse.GetValue(task), parse.GetValue(name), root, [.. parse.GetValue(set) ?? []], parse.GetValue(warmStart) ?? CompareCommands.SharedWarmStart);
            }
            catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                return 2;
            }

            if (parse.GetValue(printConfig))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { planned.Name, planned.WarmStarts, planned.Members }, TrainCommands.Json));
                return 0;
            }

            return await context.RunAsync(parse, (connection, output) => PrintOrRunAsync(connection.Client, planned, output), ct);
        });
        return command;
    }

    /// <summary><c>agentrl pool status POOL</c>.</summary>
    public static Command CreatePool(CliContext context)
    {
        var pool = new Argument<string>("pool") { Description = "The pool's name (a swarm's swarm.pool, by default its name)." };
        var shards = new Option<int>("--shards") { Description = "Shards of the pool (swarm.shards).", DefaultValueFactory = _ => new SwarmSettings().Shards };
        var status = new Command("status", "Shards, sizes, producers and ages of an experience pool.") { pool, shards };
        status.SetAction(async (parse, ct) =>
        {
            var count = parse.GetValue(shards);
            if (count is < 1 or > 65_536)
            {
                await Console.Error.WriteLineAsync("agentrl: --shards must be in [1, 65536]");
                return 2;
            }

            return await context.RunAsync(parse, async (connection, output) =>
            {
                var name = parse.GetValue(pool)!;
                var all = await Task.WhenAll(Enumerable.Range(0, count).Select(s => connection.Client.GetGrain<IExperiencePoolGrain>(PoolShards.Key(name, s)).GetStatusAsync(ct)));
                output.Write(PoolTable(name, all, DateTime.UtcNow));
                return 0;
            }, ct);
        });
        return new Command("pool", "Inspect experience pools.") { status };
    }

    /// <summary>The pool status as text: one line per shard, then the producers over all shards.</summary>
    public static string PoolTable(string pool, IReadOnlyList<PoolShardStatus> shards, DateTime now)
    {
        static string Age(DateTime? at, DateTime now) => at is { } t ? $"{Math.Max(0, (now - t).TotalSeconds):0} s" : "-";
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"pool {pool}: {shards.Sum(s => s.Size)} groups in {shards.Count} shards");
        text.AppendLine("shard                size/capacity  group  steps      oldest     newest     accepted  duplicates  evicted  silo");
        foreach (var s in shards)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{s.Key,-20} {$"{s.Size}/{s.Capacity}",13}  {s.GroupSize,5}  {(s.Size == 0 ? "-" : $"{s.MinStep}–{s.MaxStep}"),-9}  {Age(s.Oldest, now),-9}  {Age(s.Newest, now),-9}  {s.Accepted,8}  {s.Duplicates,10}  {s.Evicted,7}  {s.Silo}");
        }

        var producers = shards.SelectMany(s => s.Producers).GroupBy(p => p.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        text.AppendLine(producers.Count == 0 ? "producers: none" : "producers: " + string.Join(", ", producers.Select(g => $"{g.Key} {g.Sum(p => p.Value)}")));
        return text.ToString();
    }

    /// <summary>
    /// The swarm's members: each resolved from the defaults, the file's <c>shared</c> fragment, its own fragment, then the
    /// options and every <c>--set</c>; its swarm settings from the file's <c>swarm</c>, <c>--local</c> and <c>--external</c>.
    /// </summary>
    public static SwarmPlan Plan(string? file, int? memberCount, int? local, int? external, int? steps, string? task, string? name, string runDir, IReadOnlyList<string> sets, string warmStartMode)
    {
        if (warmStartMode is not (CompareCommands.SharedWarmStart or CompareCommands.OwnWarmStart))
        {
            throw new ArgumentException($"--warm-start must be {CompareCommands.SharedWarmStart} or {CompareCommands.OwnWarmStart}, not '{warmStartMode}'.");
        }

        JsonObject shared = [];
        JsonObject swarmFragment = [];
        List<JsonObject> fragments;
        if (file is not null)
        {
            var parsed = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            JsonArray list;
            if (parsed is JsonArray array)
            {
                list = array;
            }
            else if (parsed is JsonObject definition && definition["members"] is JsonArray listed)
            {
                list = listed;
                name ??= definition["name"]?.GetValue<string>();
                shared = definition["shared"] as JsonObject ?? [];
                swarmFragment = definition["swarm"] as JsonObject ?? [];
            }
            else
            {
                throw new FormatException($"{file}: a swarm is a list of member configurations, or an object with \"members\" (and optional \"name\", \"shared\", \"swarm\").");
            }

            fragments = [.. list.Select((m, i) => m as JsonObject ?? throw new FormatException($"{file}: member {i} is not an object."))];
            if (memberCount is { } n && n != fragments.Count)
            {
                throw new ArgumentException($"--members {n} disagrees with the {fragments.Count} members of {file}.");
            }
        }
        else
        {
            var n = memberCount ?? 2;
            fragments = [.. Enumerable.Range(0, n).Select(i => new JsonObject { ["seed"] = i })];
        }

        if (fragments.Count < 1)
        {
            throw new ArgumentException("a swarm needs at least one member.");
        }

        name ??= "swarm-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"the swarm name '{name}' must be a plain folder name.");
        }

        var directory = Path.Combine(runDir, name);
        var membersResolved = new List<RunConfig>();
        for (var i = 0; i < fragments.Count; i++)
        {
            var fragment = fragments[i];
            // A run id names a run grain, and a run's folder in a blob run store, cluster-wide: a member named by the swarm
            // carries the swarm's name, so two swarms on one cluster never share a member's grain or store folder.
            var given = fragment["runId"]?.GetValue<string>() is { Length: > 0 } id ? id : null;
            var memberName = given ?? $"{name}-m{i}";
            var node = JsonSerializer.SerializeToNode(new RunConfig { Swarm = new SwarmSettings { Pool = name } }, TrainCommands.Json)!.AsObject();
            TrainCommands.Merge(node["swarm"]!.AsObject(), swarmFragment, file ?? "swarm");
            TrainCommands.Merge(node, shared, $"{file} (shared)");
            TrainCommands.Merge(node, fragment, $"{file} (member {memberName})");
            if (local is { } l)
            {
                node["swarm"]!["local"] = l;
            }

            if (external is { } j)
            {
                node["swarm"]!["external"] = j;
            }

            var config = TrainCommands.Resolve(null, task, null, steps, null, directory, sets, node);
            membersResolved.Add(config with
            {
                RunId = memberName,
                RunDir = directory,
                PolicyId = fragment.ContainsKey("policyId") ? config.PolicyId : given is null ? memberName : $"{name}-{memberName}",
            });
        }

        Check(membersResolved);
        return WithWarmStarts(name, directory, membersResolved, warmStartMode == CompareCommands.SharedWarmStart);
    }

    /// <summary>
    /// Every member that did not complete, resumed after its last checkpoint (or started again when it has none): the saved
    /// definition and the members' run states read through the cluster (<see cref="IRunFilesGrain"/>).
    /// </summary>
    public static async Task<SwarmPlan> ResumePlanAsync(IClusterClient client, string runDir, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var directory = Path.Combine(runDir, name);
        var path = Path.Combine(directory, DefinitionFileName);
        var text = await client.GetGrain<IRunFilesGrain>(runDir).ReadSwarmDefinitionAsync(name, cancellationToken)
            ?? throw new IOException($"{path} not found: nothing to resume.");
        var saved = JsonSerializer.Deserialize<SavedSwarm>(text, TrainCommands.Json)
            ?? throw new FormatException($"{path}: empty swarm definition.");
        Task<RunStateFile?> StateAsync(RunConfig run) => RunStateFile.ReadAsync(client.GetGrain<IRunFilesGrain>(run.RunDir), run.RunId, cancellationToken);
        var members = new List<RunConfig>();
        var completed = new List<RunConfig>();
        foreach (var member in saved.Members)
        {
            var state = await StateAsync(member);
            if (state is { State: RunState.Completed })
            {
                completed.Add(member);
                continue;
            }

            members.Add(state is { HasTrainerState: true } ? member with { Resume = true } : member);
        }

        if (members.Count == 0)
        {
            throw new ArgumentException($"every member of swarm {name} completed: nothing to resume.");
        }

        // Warm starts that completed are not redone; one that did not is run again before its members.
        var warm = new List<RunConfig>();
        foreach (var w in saved.WarmStarts)
        {
            var used = members.Any(m => !m.Resume && m.InitFrom == Path.GetFullPath(Path.Combine(w.RunDir, w.RunId)));
            if (used && await StateAsync(w) is not { State: RunState.Completed })
            {
                warm.Add(w);
            }
        }

        return new SwarmPlan(saved.Name, directory, warm, members, completed, IsResume: true);
    }

    private static void Check(IReadOnlyList<RunConfig> members)
    {
        var duplicates = members.GroupBy(m => m.RunId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new ArgumentException($"member names must differ: {string.Join(", ", duplicates)}.");
        }

        if (members.Select(m => m.GroupSize).Distinct().Count() > 1)
        {
            throw new ArgumentException("every member needs the same groupSize: a pool holds groups of one size.");
        }

        if (members.Select(m => (m.Swarm!.Pool, m.Swarm.Shards)).Distinct().Count() > 1)
        {
            throw new ArgumentException("every member needs the same swarm.pool and swarm.shards.");
        }
    }

    /// <summary>Members that warm-start alike (same task, model and sft settings) share one <c>agentrl sft</c> run.</summary>
    private static SwarmPlan WithWarmStarts(string name, string directory, IReadOnlyList<RunConfig> members, bool share)
    {
        if (!share)
        {
            return new SwarmPlan(name, directory, [], members);
        }

        var warmStarts = new List<RunConfig>();
        var result = new List<RunConfig>();
        foreach (var group in members.GroupBy(WarmStartKey, StringComparer.Ordinal))
        {
            var first = group.First();
            if (first.SftDemonstrations == 0 || !string.IsNullOrEmpty(first.InitFrom))
            {
                result.AddRange(group);
                continue;
            }

            var warm = first with { RunId = $"{name}-warmstart{warmStarts.Count}", SftOnly = true, Steps = 0, Swarm = null, PolicyId = $"{name}-warmstart{warmStarts.Count}" };
            warmStarts.Add(warm);
            var from = Path.GetFullPath(Path.Combine(warm.RunDir, warm.RunId));
            result.AddRange(group.Select(m => m with { InitFrom = from }));
        }

        return new SwarmPlan(name, directory, warmStarts, [.. members.Select(m => result.Single(r => r.RunId == m.RunId))]);
    }

    private static string WarmStartKey(RunConfig c) => JsonSerializer.Serialize(new
    {
        c.Task,
        c.TaskOptions,
        c.SftDemonstrations,
        c.SftEpochs,
        c.SftLearningRate,
        c.SftFlawedFraction,
        c.SftFlaws,
        c.SftEchoExamples,
        c.SftFlawPhaseDemonstrations,
        c.SftFlawPhaseLearningRate,
        c.SftBatchSize,
        c.SftWarmupSteps,
        c.SftFlawPhaseWarmupSteps,
        c.SftRedrawResultShare,
        c.InitFrom,
        c.EvalSize,
        c.PassK,
        Model = c.PolicyId.StartsWith(PolicyDirectoryPrefix, StringComparison.Ordinal) ? c.PolicyId : "",
    });

    private const string PolicyDirectoryPrefix = "dir:";

    /// <summary>
    /// What <c>agentrl swarm</c> (and <c>--resume</c>) does once connected: saves <c>swarm.json</c> (a resume keeps the one
    /// saved first), runs the warm starts, then every member at once, following them on <paramref name="output"/>, and writes
    /// <c>swarm.csv</c> and <c>swarm.png</c>. Cancelling <paramref name="ct"/> (Ctrl+C) stops every member after its step in
    /// flight. Returns 0 when every member completed, else 1.
    /// </summary>
    public static async Task<int> RunAsync(IClusterClient client, SwarmPlan plan, TextWriter output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(output);
        // The definition is kept on the silos beside the members' run folders; a resume keeps the one saved first.
        var files = client.GetGrain<IRunFilesGrain>(Path.GetDirectoryName(plan.Directory) is { Length: > 0 } parent ? parent : ".");
        await files.SaveSwarmDefinitionAsync(plan.Name, JsonSerializer.Serialize(new SavedSwarm(plan.Name, plan.WarmStarts, plan.AllMembers), TrainCommands.Json), overwrite: !plan.IsResume, CancellationToken.None);

        var swarm = plan.Members[0].Swarm!;
        output.WriteLine($"swarm {plan.Name}: {plan.Members.Count} members × {plan.Members[0].Steps} steps, I/J = {swarm.Local}/{swarm.External}, pool {swarm.Pool} ({swarm.Shards} shards), share {swarm.Share}, select {swarm.Select}, correction {swarm.OffPolicyCorrection}");
        var failedWarmStarts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var warm in plan.WarmStarts)
        {
            ct.ThrowIfCancellationRequested();
            output.WriteLine($"warm start {warm.RunId}: {warm.SftDemonstrations} demonstrations, shared by {string.Join(", ", plan.Members.Where(m => m.InitFrom == Path.GetFullPath(Path.Combine(warm.RunDir, warm.RunId))).Select(m => m.RunId))}");
            var done = await FollowAllAsync(client, [warm], output, ct);
            if (done[0].State != RunState.Completed)
            {
                failedWarmStarts.Add(Path.GetFullPath(Path.Combine(warm.RunDir, warm.RunId)));
                output.WriteLine($"warm start {warm.RunId} {done[0].State}: {done[0].Error}");
            }
        }

        var runnable = plan.Members.Where(m => m.InitFrom is null || !failedWarmStarts.Contains(m.InitFrom) || m.Resume).ToList();
        var statuses = runnable.Count == 0 ? [] : await FollowAllAsync(client, runnable, output, ct);
        // The report covers the whole swarm: members that completed before a resume too.
        var rows = await files.WriteSwarmReportAsync(plan.Name, [.. plan.AllMembers.Select(m => m.RunId)], CancellationToken.None);

        output.WriteLine();
        var width = Math.Max("member".Length, plan.AllMembers.Max(m => m.RunId.Length));
        output.WriteLine($"{"member".PadRight(width)} state       steps  final eval  cumulative reward  external groups");
        foreach (var member in plan.AllMembers)
        {
            var index = runnable.IndexOf(member);
            var state = index >= 0 ? statuses[index].State.ToString() : plan.Completed?.Contains(member) == true ? "Completed" : "NotStarted";
            var mine = rows.Where(r => r.Member == member.RunId).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{member.RunId.PadRight(width)} {state,-11} {mine.Count,5}  {TrainCommands.Percent(index < 0 ? null : statuses[index].FinalEvalAccuracy),10}  {(mine.Count == 0 ? 0 : mine[^1].CumulativeReward),17:0.000}  {mine.Sum(r => r.ExternalGroups ?? 0),15:0}"));
            if (index >= 0 && statuses[index].Error is { } error)
            {
                output.WriteLine($"{new string(' ', width + 1)}{error}");
            }
        }

        output.WriteLine($"artifacts: {Path.GetFullPath(plan.Directory)} ({SwarmFiles.CsvFileName}, {SwarmFiles.PlotFileName}, one run folder per member)");
        if (statuses.Any(s => s.State == RunState.Stopped) || runnable.Count < plan.Members.Count)
        {
            output.WriteLine($"continue with: agentrl swarm --resume {plan.Name}{(Path.GetDirectoryName(plan.Directory) == new RunConfig().RunDir ? "" : $" --run-dir {Path.GetDirectoryName(plan.Directory)}")}");
        }

        return runnable.Count == plan.Members.Count && statuses.All(s => s.State == RunState.Completed) ? 0 : 1;
    }

    /// <summary>
    /// Starts every run, then prints one line per member whenever its progress changes, until all are finished. A member
    /// that cannot start, or fails, does not stop the others; Ctrl+C stops every member after its step in flight.
    /// </summary>
    private static async Task<IReadOnlyList<RunStatus>> FollowAllAsync(IClusterClient client, IReadOnlyList<RunConfig> runs, TextWriter output, CancellationToken ct)
    {
        var grains = runs.Select(r => client.GetGrain<ITrainingRunGrain>(r.RunId)).ToList();
        var startErrors = new string?[runs.Count];
        await Task.WhenAll(runs.Select(async (run, i) =>
        {
            try
            {
                await grains[i].StartAsync(run, ct);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                startErrors[i] = e.Message;
            }
        }));

        var last = new string[runs.Count];
        var final = new RunStatus?[runs.Count];
        var width = runs.Max(r => r.RunId.Length);
        using var stop = ct.Register(() =>
        {
            foreach (var grain in grains)
            {
                _ = grain.StopAsync(CancellationToken.None);
            }
        });
        for (var i = 0; i < runs.Count; i++)
        {
            if (startErrors[i] is { } error)
            {
                final[i] = new RunStatus { RunId = runs[i].RunId, State = RunState.Failed, Error = error };
                output.WriteLine($"[{runs[i].RunId.PadRight(width)}] Failed to start: {error}");
            }
        }

        while (final.Any(f => f is null))
        {
            for (var i = 0; i < runs.Count; i++)
            {
                if (final[i] is not null)
                {
                    continue;
                }

                var status = await grains[i].GetStatusAsync(CancellationToken.None);
                var line = TrainCommands.Describe(status) + (status.Metrics.TryGetValue("swarm/external_groups", out var ext) ? $" ext {ext:0}/{runs[i].Swarm?.External ?? 0}" : "");
                if (line != last[i])
                {
                    output.WriteLine($"[{runs[i].RunId.PadRight(width)}] {line}");
                    last[i] = line;
                }

                if (status.IsFinished)
                {
                    final[i] = status;
                    if (status.Error is { } error)
                    {
                        output.WriteLine($"[{runs[i].RunId.PadRight(width)}] {status.State}: {error}");
                    }
                }
            }

            if (final.Any(f => f is null))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        }

        return [.. final.Select(f => f!)];
    }

    /// <summary>What <c>swarm.json</c> holds: the swarm's name, its shared warm starts and its members' full configurations.</summary>
    public sealed record SavedSwarm(string Name, IReadOnlyList<RunConfig> WarmStarts, IReadOnlyList<RunConfig> Members);
}
