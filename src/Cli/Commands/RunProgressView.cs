using System.Globalization;
using AgentRl.Abstractions.Training;
using Spectre.Console;

namespace AgentRl.Cli.Commands;

/// <summary>
/// Shows a followed run. In a terminal: a live Spectre.Console display — a bar for the demonstrations built, then for the
/// SFT batches with the loss and the time left, then one updating line for the RL step in flight (phase, reward, accuracy,
/// tool calls, tokens/s, ETA), each finished step printed above it. When output is redirected: plain lines, one per 5 %
/// of each warm-start stage and one per step (<see cref="PlainProgress"/>).
/// </summary>
public static class RunProgressView
{
    /// <summary>Follows statuses from <paramref name="next"/> until the run is finished; returns the last one.</summary>
    public static Task<RunStatus> FollowAsync(TextWriter output, Func<Task<RunStatus>> next, IAnsiConsole? console = null)
    {
        // A live display only on this process's own terminal, or on the console a caller (a test) gives.
        console ??= ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected ? AnsiConsole.Console : null;
        return console is not null && IsLive(console) ? FollowLiveAsync(console, next) : FollowPlainAsync(output, next);
    }

    /// <summary>Whether <paramref name="console"/> can show a live display.</summary>
    public static bool IsLive(IAnsiConsole console) => console.Profile.Capabilities is { Interactive: true, Ansi: true };

    private static async Task<RunStatus> FollowPlainAsync(TextWriter output, Func<Task<RunStatus>> next)
    {
        var plain = new PlainProgress();
        while (true)
        {
            var status = await next();
            foreach (var line in plain.Lines(status))
            {
                output.WriteLine(line);
            }

            if (status.IsFinished)
            {
                return status;
            }
        }
    }

    private static async Task<RunStatus> FollowLiveAsync(IAnsiConsole console, Func<Task<RunStatus>> next)
    {
        RunStatus? last = null;
        await console.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                ProgressTask? line = null;
                var key = "";
                var stepPrinted = 0;
                WarmStartStatus? warm = null;
                while (true)
                {
                    var status = await next();
                    last = status;
                    var shown = PlainProgress.Shown(status);
                    if (warm is { } before && (shown is not { } now || (now.Stage, now.Pass) != (before.Stage, before.Pass)))
                    {
                        console.WriteLine(PlainProgress.StageDone(before, status));   // a finished warm-start stage stays on screen
                    }

                    warm = shown;
                    if (status.MetricsStep > stepPrinted && status.Metrics.Count > 0)
                    {
                        stepPrinted = status.MetricsStep;
                        console.WriteLine(PlainProgress.DescribeStep(status));
                    }

                    var (lineKey, description, value, max) = Live(status);
                    if (lineKey != key || line is null)
                    {
                        if (line is not null)
                        {
                            context.RemoveTask(line);
                        }

                        line = context.AddTask(Markup.Escape(description), autoStart: true, maxValue: Math.Max(1, max));
                        key = lineKey;
                    }

                    line.Description = Markup.Escape(description);
                    line.IsIndeterminate = max <= 0;
                    line.MaxValue = Math.Max(1, max);
                    line.Value = Math.Min(value, line.MaxValue);
                    context.Refresh();
                    if (status.IsFinished)
                    {
                        line.StopTask();
                        return;
                    }
                }
            });
        return last!;
    }

    /// <summary>The live line for a status: its identity (a new one replaces the bar), text, value and maximum (0: no bar).</summary>
    internal static (string Key, string Description, double Value, double Max) Live(RunStatus s) => (s, PlainProgress.Shown(s)) switch
    {
        (_, { Stage: WarmStartStage.Demonstrations } w) => ($"demonstrations-{w.Pass}", PlainProgress.DescribeWarmStart(w), w.Done, w.Total),
        (_, { Stage: WarmStartStage.Sft } w) => ($"sft-{w.Pass}", PlainProgress.DescribeWarmStart(w), w.Done, w.Total),
        ({ State: RunState.Training, Baseline.State: RunState.Training }, _) => ("baseline", PlainProgress.DescribeBaseline(s.Baseline!), 0, 0),
        ({ State: RunState.Training }, _) => ("rl", TrainCommands.Describe(s), s.MetricsStep, s.Steps),
        _ => ($"{s.State}-{s.Phase}", PlainProgress.DescribeState(s), 0, 0),
    };
}

/// <summary>
/// The plain progress of a followed run, for output that is not a terminal: a line when the state or phase changes
/// outside the RL steps, one per 5 % of each warm-start stage, and one per finished step.
/// </summary>
public sealed class PlainProgress
{
    private string _lastState = "";
    private int _stepPrinted;
    private bool _baselinePrinted;
    private (WarmStartStage Stage, int Pass, int Twentieth) _warm = (WarmStartStage.None, 0, -1);

    /// <summary>The lines <paramref name="status"/> adds (none when it says nothing new).</summary>
    public IReadOnlyList<string> Lines(RunStatus status)
    {
        var lines = new List<string>();
        var state = status.State == RunState.Training ? "Training" : DescribeState(status);
        if (state != _lastState && status.State != RunState.Training)
        {
            lines.Add(state);
        }

        _lastState = state;
        if (Shown(status) is { } w)
        {
            var twentieth = (int)Math.Floor(w.Fraction * 20);
            if ((w.Stage, w.Pass) != (_warm.Stage, _warm.Pass) || twentieth > _warm.Twentieth)
            {
                _warm = (w.Stage, w.Pass, twentieth);
                lines.Add(DescribeWarmStart(w));
            }
        }

        if (status.MetricsStep > _stepPrinted && status.Metrics.Count > 0)
        {
            _stepPrinted = status.MetricsStep;
            lines.Add(DescribeStep(status));
        }

        if (status.Baseline is { State: RunState.Training } baseline && !_baselinePrinted)
        {
            _baselinePrinted = true;
            lines.Add(DescribeBaseline(baseline));
        }

        return lines;
    }

    /// <summary>
    /// The warm-start stage a status shows: none outside the warm start; a finished warm start (still evaluating) as its
    /// last SFT pass, complete — a warm start faster than the progress polls still shows its end.
    /// </summary>
    public static WarmStartStatus? Shown(RunStatus status) => status is { State: RunState.WarmStart, WarmStart: { } w }
        ? w.Stage switch
        {
            WarmStartStage.Demonstrations or WarmStartStage.Sft => w,
            WarmStartStage.Done when w.Total > 0 => w with { Stage = WarmStartStage.Sft, Done = w.Total },
            _ => null,
        }
        : null;

    /// <summary>The equal-time baseline in flight: <c>baseline: the warm start trains on with SFT for the RL steps' 42 s, then is evaluated</c>.</summary>
    public static string DescribeBaseline(BaselineResult b) =>
        string.Create(CultureInfo.InvariantCulture, $"baseline: the warm start trains on with SFT for the RL steps' {b.RlSeconds:0} s, then is evaluated");

    /// <summary>A run's state outside the RL steps: <c>Evaluating [Evaluate] initial eval 0.0 %</c>.</summary>
    public static string DescribeState(RunStatus s) =>
        $"{s.State}{(s.Phase.Length > 0 ? $" [{s.Phase}]" : "")} {(s.InitialEvalAccuracy is null ? "" : $"initial eval {TrainCommands.Percent(s.InitialEvalAccuracy)}")} {(s.WarmStartEvalAccuracy is null ? "" : $"warm-start eval {TrainCommands.Percent(s.WarmStartEvalAccuracy)}")}".TrimEnd();

    /// <summary>
    /// A warm-start stage: <c>warm start: demonstrations 25 % (100/400) ETA 0:00:40</c> or
    /// <c>warm start: SFT 35 % (batch 53/150) loss 0.8123 ETA 0:01:10</c>.
    /// </summary>
    public static string DescribeWarmStart(WarmStartStatus w)
    {
        var phase = w.Pass > 1 ? " (flaw phase)" : "";
        var percent = (w.Fraction * 100).ToString("0", CultureInfo.InvariantCulture);
        var eta = w.EtaSeconds is { } e && w.Done > 0 ? $" ETA {Duration(e)}" : "";
        return w.Stage == WarmStartStage.Sft
            ? $"warm start: SFT{phase} {percent} % (batch {w.Done}/{w.Total}) loss {Loss(w.Loss)}{eta}"
            : $"warm start: demonstrations{phase} {percent} % ({w.Done}/{w.Total}){eta}";
    }

    /// <summary>
    /// The line left on screen when the warm-start stage of <paramref name="last"/> ends, as <paramref name="next"/> shows:
    /// all of it done unless the run stopped, with the loss of its last batch.
    /// </summary>
    public static string StageDone(WarmStartStatus last, RunStatus next)
    {
        var done = next.State is RunState.Stopped or RunState.Failed ? last.Done : last.Total;
        var loss = next.WarmStart?.Loss ?? last.Loss;
        var phase = last.Pass > 1 ? " (flaw phase)" : "";
        return last.Stage == WarmStartStage.Sft
            ? $"warm start: SFT{phase} {done}/{last.Total} batches, loss {Loss(loss)}"
            : $"warm start: {done}/{last.Total} demonstrations built{phase}";
    }

    /// <summary>A finished step: <c>step 3/25 reward 0.512 acc 40.0 % tools/traj 1.10 tok/s 950 v3 eval 62.5 % ETA 0:01:10</c>.</summary>
    public static string DescribeStep(RunStatus s)
    {
        var m = s.Metrics;
        string Get(string key, string format) => m.TryGetValue(key, out var v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        var forks = m.GetValueOrDefault("branching/fork_points") > 0 ? $" forks/prompt {Get("rollout/branches_per_prompt", "0.0")} ΔH {Get("branching/delta_entropy_mean", "0.00")}" : "";
        return $"step {s.MetricsStep}/{s.Steps} reward {Get("rollout/reward_mean", "0.000")} acc {Get("rollout/accuracy", "P1")} tools/traj {Get("tools/calls_per_traj", "0.00")}{forks} tok/s {Get("perf/tokens_per_s", "0")} v{s.PolicyVersion} eval {TrainCommands.Percent(s.FinalEvalAccuracy)} ETA {(s.EtaSeconds is { } e ? Duration(e) : "-")}";
    }

    internal static string Duration(double seconds) => TimeSpan.FromSeconds(Math.Round(Math.Max(0, seconds))).ToString("g", CultureInfo.InvariantCulture);

    private static string Loss(double? loss) => loss is { } l ? l.ToString("0.0000", CultureInfo.InvariantCulture) : "-";
}
