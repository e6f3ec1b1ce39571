using AgentRl.Client;

namespace AgentRl.Dashboard;

/// <summary>A run the dashboard was asked about that the cluster does not know and the run directory does not hold.</summary>
public sealed class RunNotFoundException(string message) : Exception(message);

/// <summary>
/// What the dashboard shows, read through the client library (the cluster's grains, never this machine's disk): the runs
/// under one run directory with their live state, their curves, and their logged trajectories by step and group.
/// </summary>
public sealed class DashboardData(AgentRlClient client, string runDir)
{
    /// <summary>The curves drawn for every run, in order; a <c>staleness</c> column is added when a run records one.</summary>
    public static IReadOnlyList<CurveSpec> Curves { get; } =
    [
        new("reward_mean", "Reward (mean)"),
        new("accuracy", "Accuracy (rollouts)"),
        new("eval_accuracy", "Eval accuracy (held-out)"),
        new("entropy", "Entropy"),
        new("tool_calls_per_traj", "Tool calls / trajectory"),
    ];

    public string RunDir { get; } = runDir;

    /// <summary>Every run under the run directory: state and step (live from the cluster when it runs them), accuracy, ETA.</summary>
    public async Task<IReadOnlyList<RunRow>> RunsAsync(CancellationToken cancellationToken)
    {
        var runs = await client.ListRunsAsync(RunDir, cancellationToken);
        return await Task.WhenAll(runs.Select(r => RowAsync(r, cancellationToken)));
    }

    /// <summary>The curves of <paramref name="runIds"/> overlaid (one colour per run, in the order given), as SVG.</summary>
    public async Task<IReadOnlyList<(CurveSpec Curve, string Svg)>> ChartsAsync(IReadOnlyList<string> runIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var metrics = await Task.WhenAll(runIds.Select(async id =>
        {
            await EnsureRunAsync(id, cancellationToken);
            return (Id: id, Rows: await client.GetMetricsAsync(id, RunDir, cancellationToken));
        }));
        var staleness = metrics.SelectMany(m => m.Rows).SelectMany(r => r.Values.Keys).Where(k => k.Contains("stale", StringComparison.OrdinalIgnoreCase)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var curves = Curves.Concat(staleness.Select(c => new CurveSpec(c, $"Staleness ({c})")));
        return [.. curves.Select(curve => (curve, SvgLineChart.Render(curve.Title, [.. metrics.Select((m, i) => new ChartSeries(
            m.Id,
            SvgLineChart.Palette[i % SvgLineChart.Palette.Count],
            [.. m.Rows.Where(r => r.Values.ContainsKey(curve.Column)).Select(r => ((double)r.Step, r.Values[curve.Column]))]))])))];
    }

    /// <summary>
    /// The trajectories a run logged at <paramref name="step"/> (default: the last step logged), by group, rollout trees in
    /// tree order, with every step that has trajectories.
    /// </summary>
    public async Task<TrajectoryPage> TrajectoriesAsync(string runId, long? step, CancellationToken cancellationToken)
    {
        await EnsureRunAsync(runId, cancellationToken);
        var config = await client.GetRunConfigAsync(runId, RunDir, cancellationToken);
        var records = (await client.GetTrajectoriesAsync(runId, null, RunDir, cancellationToken))
            .Where(t => t.GroupId.Length > 0)
            .ToList();
        var steps = records.Select(r => r.Step).Distinct().Order().ToList();
        if (step is { } asked && !steps.Contains(asked))
        {
            throw new RunNotFoundException($"run '{runId}' logged no trajectories at step {asked}" + (steps.Count == 0 ? " (none yet)." : $"; steps logged: {string.Join(", ", steps.TakeLast(20))}."));
        }

        var shown = step ?? (steps.Count > 0 ? steps[^1] : null);
        var attribution = config?.Branching.Attribution;
        return new TrajectoryPage(runId, shown, steps, config?.Algorithm, attribution, RolloutTreeView.Groups([.. records.Where(r => r.Step == shown)], attribution));
    }

    private async Task EnsureRunAsync(string runId, CancellationToken cancellationToken)
    {
        if (await client.GetRunAsync(runId, RunDir, cancellationToken) is null)
        {
            var known = (await client.ListRunsAsync(RunDir, cancellationToken)).Select(r => r.RunId).Take(20).ToList();
            throw new RunNotFoundException($"no run '{runId}' under {RunDir}" + (known.Count == 0 ? " (it holds no runs)." : $"; runs there: {string.Join(", ", known)}."));
        }
    }

    private async Task<RunRow> RowAsync(RunSummary summary, CancellationToken cancellationToken)
    {
        var status = await client.GetStatusAsync(summary.RunId, cancellationToken);
        var config = await client.GetRunConfigAsync(summary.RunId, RunDir, cancellationToken);
        var known = status.RunId.Length > 0;
        var live = known && !status.IsFinished;
        double? accuracy = known && status.Metrics.TryGetValue("rollout/accuracy", out var a) ? a : null;
        if (accuracy is null)
        {
            var rows = await client.GetMetricsAsync(summary.RunId, RunDir, cancellationToken);
            accuracy = rows.LastOrDefault(r => r.Step > 0 && r.Values.ContainsKey("accuracy"))?.Values["accuracy"];
        }

        return new RunRow(
            summary.RunId,
            summary.State,
            live,
            live && status.Phase.Length > 0 ? status.Phase : null,
            known ? Math.Max(status.Step, summary.StepsDone) : summary.StepsDone,
            known && status.Steps > 0 ? status.Steps : summary.Steps ?? config?.Steps,
            accuracy,
            known ? status.FinalEvalAccuracy ?? summary.LastEvalAccuracy : summary.LastEvalAccuracy,
            live ? status.EtaSeconds : null,
            config?.Algorithm,
            config?.Swarm?.Pool,
            known ? status.Error : null);
    }
}
