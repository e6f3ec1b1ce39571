namespace AgentRl.Pipeline.Metrics;

/// <summary>
/// Stable metric names (STYLE rule 20) and the CSV columns they are written to.
/// </summary>
/// <remarks>
/// The first columns of <c>metrics.csv</c> are fixed, in this order:
/// <list type="table">
/// <listheader><term>metric name</term><description>CSV column</description></listheader>
/// <item><term>(the step argument)</term><description><c>step</c></description></item>
/// <item><term><c>rollout/reward_mean</c></term><description><c>reward_mean</c></description></item>
/// <item><term><c>rollout/accuracy</c></term><description><c>accuracy</c></description></item>
/// <item><term><c>eval/accuracy</c></term><description><c>eval_accuracy</c></description></item>
/// <item><term><c>tools/calls_per_traj</c></term><description><c>tool_calls_per_traj</c></description></item>
/// <item><term><c>rollout/entropy</c></term><description><c>entropy</c></description></item>
/// <item><term><c>rollout/policy_version</c></term><description><c>policy_version</c></description></item>
/// <item><term><c>rollout/branches_per_prompt</c></term><description><c>branches_per_prompt</c></description></item>
/// <item><term><c>tools/calls_per_solved</c></term><description><c>tool_calls_per_solved</c></description></item>
/// </list>
/// Every other metric keeps its full stable name as its column (<c>loss/kl</c> → <c>loss/kl</c>),
/// appended after the fixed columns in order of first appearance. A fixed column's name is also
/// accepted as a metric name (<c>reward_mean</c> → <c>reward_mean</c>). TensorBoard always uses
/// the stable metric name as the tag.
/// <para>
/// Wall-clock metrics (<see cref="IsWallClock"/>: durations and rates such as <c>perf/phase/Rollout_s</c> and
/// <c>perf/tokens_per_s</c>, written as <c>tokens_per_s</c>) go to <c>timings.csv</c> instead, so that
/// <c>metrics.csv</c> holds only what the seed determines and two runs of one seed compare byte for byte.
/// </para>
/// </remarks>
public static class MetricColumns
{
    public const string Step = "step";

    public const string RewardMean = "rollout/reward_mean";
    public const string Accuracy = "rollout/accuracy";
    public const string EvalAccuracy = "eval/accuracy";
    public const string ToolCallsPerTrajectory = "tools/calls_per_traj";
    public const string Entropy = "rollout/entropy";
    public const string TokensPerSecond = "perf/tokens_per_s";
    public const string PolicyVersion = "rollout/policy_version";
    public const string BranchesPerPrompt = "rollout/branches_per_prompt";
    public const string ToolCallsPerSolved = "tools/calls_per_solved";

    private static readonly (string Metric, string Column)[] FixedPairs =
    [
        (RewardMean, "reward_mean"),
        (Accuracy, "accuracy"),
        (EvalAccuracy, "eval_accuracy"),
        (ToolCallsPerTrajectory, "tool_calls_per_traj"),
        (Entropy, "entropy"),
        (PolicyVersion, "policy_version"),
        (BranchesPerPrompt, "branches_per_prompt"),
        (ToolCallsPerSolved, "tool_calls_per_solved"),
    ];

    /// <summary>Short columns of metrics outside the fixed ones (<c>perf/tokens_per_s</c>, a column of <c>timings.csv</c>).</summary>
    private static readonly (string Metric, string Column)[] RenamedPairs = [.. FixedPairs, (TokensPerSecond, "tokens_per_s")];

    private static readonly Dictionary<string, string> ColumnByMetric =
        RenamedPairs.ToDictionary(p => p.Metric, p => p.Column, StringComparer.Ordinal);

    private static readonly Dictionary<string, string> MetricByColumn =
        RenamedPairs.ToDictionary(p => p.Column, p => p.Metric, StringComparer.Ordinal);

    /// <summary>Families whose last segment is a name from the run's data (a tool the model called), never a unit.</summary>
    private static readonly string[] DataNamedFamilies = ["tools/calls_by_tool/"];

    /// <summary>
    /// Whether a metric measures wall-clock time rather than what the seed determines: its last path segment ends in
    /// <c>_s</c>, <c>_ms</c>, <c>_seconds</c>, <c>_per_s</c> or <c>_per_second</c> (durations and rates:
    /// <c>perf/phase/Update_s</c>, <c>perf/update_seconds</c>, <c>sft/perf/tokens_per_second</c>). Counts such as
    /// <c>perf/tokens</c> are not. A name given as its column (<c>tokens_per_s</c>) is classified as its metric.
    /// </summary>
    public static bool IsWallClock(string metricOrColumn)
    {
        var name = ToMetricName(metricOrColumn);
        if (DataNamedFamilies.Any(f => name.StartsWith(f, StringComparison.Ordinal)))
        {
            return false;
        }

        var last = name[(name.LastIndexOf('/') + 1)..];
        return last.EndsWith("_s", StringComparison.Ordinal) || last.EndsWith("_ms", StringComparison.Ordinal)
            || last.EndsWith("_seconds", StringComparison.Ordinal) || last.EndsWith("_per_second", StringComparison.Ordinal);
    }

    /// <summary>The fixed leading columns of <c>metrics.csv</c>, <c>step</c> first.</summary>
    public static IReadOnlyList<string> FixedColumns { get; } =
        [Step, .. FixedPairs.Select(p => p.Column)];

    /// <summary>The CSV column a metric is written to.</summary>
    public static string ToColumn(string metricName) =>
        ColumnByMetric.TryGetValue(metricName, out var column) ? column : metricName;

    /// <summary>The stable metric name behind a CSV column (the inverse of <see cref="ToColumn"/>).</summary>
    public static string ToMetricName(string column) =>
        MetricByColumn.TryGetValue(column, out var metric) ? metric : column;
}
