using System.Globalization;

namespace AgentRl.Tasks.Jsonl;

/// <summary>
/// Options of the <c>jsonl</c> task: a dataset of prompts and answers in JSON Lines files, scored by one of
/// <see cref="JsonlRewards.Kinds"/>. List options (<see cref="Path"/>, <see cref="EvalPath"/>, <see cref="Tools"/>) are
/// comma-separated. Paths are absolute or relative to the working directory of the process that builds the task (on a
/// cluster, every silo reads them: put them on storage each silo sees, as a run directory).
/// </summary>
public sealed record JsonlOptions : TaskOptions
{
    /// <summary>Required: the JSONL files of items, comma-separated. Each line is <c>{"prompt","answer","metadata"?,"split"?,"id"?,"documents"?}</c>.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// JSONL files of eval items, comma-separated (same format; a <c>split</c> field may only say <c>eval</c>). When set, the
    /// lines of <see cref="Path"/> without a <c>split</c> are train items; otherwise the stable-hash split applies
    /// (<see cref="TaskOptions.EvalModulus"/>). Default: none.
    /// </summary>
    public string? EvalPath { get; init; }

    /// <summary>Tools the model may call, comma-separated tool names (<c>plugin-function</c>, plug-in tools included). Default: none.</summary>
    public string Tools { get; init; } = string.Empty;

    /// <summary>How the final answer is scored: <c>exact</c>, <c>numeric</c>, <c>f1</c>, <c>regex</c> or <c>contains</c> (see <see cref="JsonlRewards"/>). Default <c>exact</c>.</summary>
    public string Reward { get; init; } = JsonlRewards.Exact;

    /// <summary><c>numeric</c>: the largest absolute difference that still counts as correct. Default 1e-6.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary><c>numeric</c>: the largest difference relative to |answer| that still counts as correct (correct when within either tolerance). Default 0.</summary>
    public double RelativeTolerance { get; init; }

    /// <summary>
    /// A JSONL file of gold conversations for the warm start, one per item: <c>{"prompt", "messages":[…]}</c> with the
    /// assistant and tool turns after the prompt (format in <c>src/Tasks/README.md</c>). Default: none.
    /// </summary>
    public string? Demonstrations { get; init; }

    public override void Validate()
    {
        base.Validate();
        if (PathList.Count == 0)
        {
            throw new ArgumentException("path is required: one or more JSONL files of {\"prompt\", \"answer\"} lines, comma-separated.");
        }

        _ = JsonlRewards.Parse(Reward);
        if (!double.IsFinite(Tolerance) || Tolerance < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"tolerance must be a finite number >= 0, got {Tolerance}."));
        }

        if (!double.IsFinite(RelativeTolerance) || RelativeTolerance < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"relativeTolerance must be a finite number >= 0, got {RelativeTolerance}."));
        }
    }

    internal IReadOnlyList<string> PathList => Split(Path);

    internal IReadOnlyList<string> EvalPathList => Split(EvalPath);

    internal IReadOnlyList<string> ToolList => [.. Split(Tools).Distinct(StringComparer.Ordinal)];

    private static IReadOnlyList<string> Split(string? list) =>
        list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
}
