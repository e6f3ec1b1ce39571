using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Telemetry;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace AgentRl.Bench;

/// <summary>
/// <c>agentrl-bench async</c>: synchronous against asynchronous training (AReaL's bounded staleness) on one in-process
/// silo, on arithmetic whose calculator sits behind a heavy-tailed delay (<see cref="SlowCalculatorPlugin"/>). One warm
/// start teaches the policy to call the calculator (kept in <c>--warm-dir</c> and reused when given); then each mode
/// (<c>--modes sync,1,2,4,sync-os2</c>: sync, async with that η, or sync with APRIL's <c>overSampling</c> R for
/// <c>sync-osR</c>) trains <c>--steps</c> steps from it (<c>initFrom</c>), the modes interleaved over <c>--repeats</c>
/// rounds. <c>--tool-concurrency</c> sets <c>AgentRl:ToolRuntime:MaxConcurrentCalls</c>. Reports per
/// mode the RL wall time (the sum of the steps' phases, from <c>timings.csv</c>), trained samples per second, the speed-up
/// over sync, staleness, and the orchestration overhead: the share of branch wall time (span <c>agentrl.branch</c>) spent
/// neither in generation (<c>agentrl.generate</c>, measured inside the generator grain) nor in tools
/// (<c>agentrl.tool_call</c>, inside the sandbox grain) — grain calls, queues, rendering and parsing.
/// </summary>
public static class AsyncBench
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        double Double(string name, double fallback) => options.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var (steps, prompts, group, repeats, seed) = (Int("steps", 6), Int("prompts", 8), Int("group", 4), Int("repeats", 1), Int("seed", 1));
        var modes = options.GetValueOrDefault("modes", "sync,1,2,4").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        SlowCalculatorPlugin.MinMs = Double("latency-min-ms", 50);
        SlowCalculatorPlugin.MaxMs = Double("latency-max-ms", 3000);
        SlowCalculatorPlugin.Alpha = Double("latency-alpha", 1.1);
        var runDir = Path.Combine(Path.GetTempPath(), "agentrl-async-bench-" + Guid.NewGuid().ToString("N"));

        var spans = new SpanTotals();
        using var listener = spans.Listen();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSiloHost((_, host) => host.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentRl:Tools:Plugins:calculator:Type"] = typeof(SlowCalculatorPlugin).AssemblyQualifiedName,
            // Tool calls at once per silo (0: the default, twice the cores — right for python-run's processes, a queue for
            // a tool that mostly waits).
            ["AgentRl:ToolRuntime:MaxConcurrentCalls"] = Int("tool-concurrency", 0).ToString(CultureInfo.InvariantCulture),
        }));
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgentRl(o =>
            {
                o.Accelerator = "cpu";
                o.TorchThreads = 2;
            });
            silo.AddAgentRlInMemoryState();
        });
        builder.ConfigureClient(client => client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(30)));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var baseConfig = new RunConfig
            {
                Seed = seed,
                Steps = steps,
                PromptsPerStep = prompts,
                GroupSize = group,
                EvalSize = 0,
                EvalEvery = 1000,
                PassK = 0,
                RunDir = runDir,
                SftDemonstrations = Int("sft-demonstrations", 12800),
                SftEchoExamples = Int("sft-echo", 12800),
                SftFlawPhaseDemonstrations = 0,
                SftFlawedFraction = 0,
                Limits = new AgentRl.Abstractions.Rollouts.RolloutLimits(MaxTurns: 3, MaxNewTokensPerTurn: 128, ContextBudget: 384, MaxToolCalls: 3, ToolTimeoutSeconds: 10),
            };
            // The warm start (the default's size: the policy must call the calculator for the delay to matter) is kept in
            // --warm-dir when given, and reused by later invocations.
            var warm = options.TryGetValue("warm-dir", out var kept) ? Path.GetFullPath(kept) : Path.Combine(runDir, "warm");
            if (RunStateFile.Read(warm) is not { State: RunState.Completed })
            {
                Console.Error.WriteLine($"async bench: warm start ({baseConfig.SftDemonstrations} demonstrations) into {warm}");
                await RunToEndAsync(cluster, Path.GetFileName(warm), baseConfig with { SftOnly = true, RunDir = Path.GetDirectoryName(warm)! });
            }

            SlowCalculatorPlugin.Enabled = true;
            var results = new List<Dictionary<string, object>>();
            for (var round = 0; round < repeats; round++)
            {
                foreach (var mode in modes)
                {
                    var config = baseConfig with { InitFrom = warm };
                    // sync | N (async, η = N) | sync-osR (sync with APRIL's overSampling R)
                    config = mode switch
                    {
                        "sync" => config,
                        _ when mode.StartsWith("sync-os", StringComparison.Ordinal) => config with { OverSampling = double.Parse(mode["sync-os".Length..], CultureInfo.InvariantCulture) },
                        _ => config with { Mode = RunConfig.Modes.Async, MaxStaleness = int.Parse(mode, CultureInfo.InvariantCulture) },
                    };
                    var name = $"{(mode.StartsWith("sync", StringComparison.Ordinal) ? mode : "async-eta" + mode)}-r{round}";
                    Console.Error.WriteLine($"async bench: {name}");
                    spans.Reset();
                    var (calls, slept) = (SlowCalculatorPlugin.Calls, SlowCalculatorPlugin.SleptMs);
                    var wall = Stopwatch.StartNew();
                    var directory = await RunToEndAsync(cluster, name, config);
                    wall.Stop();
                    var timings = MetricsCsvWriter.Read(Path.Combine(directory, RunArtifacts.TimingsFileName)).Where(r => r.Step > 0).ToList();
                    var metrics = MetricsCsvWriter.Read(Path.Combine(directory, MetricsCsvWriter.FileName)).Where(r => r.Step > 0).ToList();
                    var rlSeconds = timings.Sum(r => r.Values.Where(v => v.Key.StartsWith("perf/phase/", StringComparison.Ordinal)).Sum(v => v.Value));
                    var samples = (double)steps * prompts * group;
                    double Mean(string column) => metrics.Count == 0 ? 0 : metrics.Average(r => r.Values.GetValueOrDefault(column));
                    results.Add(new Dictionary<string, object>
                    {
                        ["mode"] = mode.StartsWith("sync", StringComparison.Ordinal) ? mode : "async",
                        ["eta"] = mode.StartsWith("sync", StringComparison.Ordinal) ? "-" : mode,
                        ["tool_concurrency"] = Int("tool-concurrency", 0),
                        ["parked_mean"] = Math.Round(Mean("async/parked"), 2),
                        ["resumed"] = metrics.Sum(r => r.Values.GetValueOrDefault("async/resumed")),
                        ["rollout_idle_s"] = Math.Round(timings.Sum(r => r.Values.GetValueOrDefault("async/rollout_idle_s")), 2),
                        ["round"] = round,
                        ["rl_seconds"] = Math.Round(rlSeconds, 2),
                        ["wall_seconds"] = Math.Round(wall.Elapsed.TotalSeconds, 2),
                        ["samples_per_s"] = Math.Round(samples / rlSeconds, 3),
                        ["staleness_mean"] = Math.Round(Mean("staleness/mean"), 3),
                        ["staleness_max"] = metrics.Count == 0 ? 0 : metrics.Max(r => r.Values.GetValueOrDefault("staleness/max")),
                        ["trainer_idle_s"] = Math.Round(timings.Sum(r => r.Values.GetValueOrDefault("async/trainer_idle_s")), 2),
                        ["tool_calls"] = SlowCalculatorPlugin.Calls - calls,
                        ["tool_delay_mean_ms"] = SlowCalculatorPlugin.Calls == calls ? 0 : Math.Round((SlowCalculatorPlugin.SleptMs - slept) / (double)(SlowCalculatorPlugin.Calls - calls), 1),
                        ["accuracy_mean"] = Math.Round(Mean("accuracy"), 3),
                        ["branch_s"] = Math.Round(spans.Seconds(AgentRlTelemetry.BranchSpan), 2),
                        ["generate_s"] = Math.Round(spans.Seconds(AgentRlTelemetry.GenerateSpan), 2),
                        ["tool_s"] = Math.Round(spans.Seconds(AgentRlTelemetry.ToolCallSpan), 2),
                        ["overhead_share"] = Math.Round(spans.OverheadShare(), 4),
                        ["tool_calls_per_traj"] = Math.Round(Mean("tool_calls_per_traj"), 3),
                        ["tool_error_rate"] = Math.Round(Mean("tools/error_rate"), 3),
                        ["spans_s"] = spans.All(),
                    });
                    Console.WriteLine(JsonSerializer.Serialize(results[^1]));
                }
            }

            var sync = results.Where(r => (string)r["mode"] == "sync").Select(r => (double)r["rl_seconds"]).DefaultIfEmpty(double.NaN).Average();
            Console.WriteLine();
            Console.WriteLine("| mode | η | RL wall (s) | samples/s | speed-up vs sync | staleness mean / max | trainer idle (s) | overhead share |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var mode in results.GroupBy(r => ((string)r["mode"], (string)r["eta"])))
            {
                var seconds = mode.Average(r => (double)r["rl_seconds"]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {mode.Key.Item1} | {mode.Key.Item2} | {seconds:0.0} | {mode.Average(r => (double)r["samples_per_s"]):0.00} | {sync / seconds:0.00}× | {mode.Average(r => (double)r["staleness_mean"]):0.00} / {mode.Max(r => (double)r["staleness_max"]):0} | {mode.Average(r => (double)r["trainer_idle_s"]):0.0} | {100 * mode.Average(r => (double)r["overhead_share"]):0.0} % |"));
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(runDir))
            {
                Directory.Delete(runDir, recursive: true);
            }
        }
    }

    private static async Task<string> RunToEndAsync(InProcessTestCluster cluster, string name, RunConfig config)
    {
        var run = cluster.Client.GetGrain<ITrainingRunGrain>(name);
        await run.StartAsync(config);
        RunStatus status;
        while (!(status = await run.GetStatusAsync()).IsFinished)
        {
            await Task.Delay(200);
        }

        return status.State == RunState.Completed ? Path.Combine(config.RunDir, name) : throw new InvalidOperationException($"{name}: {status.State}: {status.Error}");
    }

    /// <summary>Total duration of AgentRl's spans by name, from an in-process listener.</summary>
    private sealed class SpanTotals
    {
        private readonly Dictionary<string, long> _ticks = new(StringComparer.Ordinal);
        private readonly Lock _gate = new();

        public ActivityListener Listen()
        {
            var listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == AgentRlTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = activity =>
                {
                    lock (_gate)
                    {
                        _ticks[activity.OperationName] = _ticks.GetValueOrDefault(activity.OperationName) + activity.Duration.Ticks;
                    }
                },
            };
            ActivitySource.AddActivityListener(listener);
            return listener;
        }

        public void Reset()
        {
            lock (_gate)
            {
                _ticks.Clear();
            }
        }

        public double Seconds(string span)
        {
            lock (_gate)
            {
                return TimeSpan.FromTicks(_ticks.GetValueOrDefault(span)).TotalSeconds;
            }
        }

        public Dictionary<string, double> All()
        {
            lock (_gate)
            {
                return _ticks.ToDictionary(p => p.Key, p => Math.Round(TimeSpan.FromTicks(p.Value).TotalSeconds, 2), StringComparer.Ordinal);
            }
        }

        /// <summary>(branch − generate − tool) / branch.</summary>
        public double OverheadShare()
        {
            var branch = Seconds(AgentRlTelemetry.BranchSpan);
            return branch <= 0 ? 0 : (branch - Seconds(AgentRlTelemetry.GenerateSpan) - Seconds(AgentRlTelemetry.ToolCallSpan)) / branch;
        }
    }
}
