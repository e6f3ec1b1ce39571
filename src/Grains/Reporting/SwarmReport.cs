using System.Globalization;
using System.Text;
using AgentRl.Abstractions.Swarm;
using ScottPlot;

namespace AgentRl.Grains.Reporting;


/// <summary>
/// A swarm's own artifacts beside its members' run folders (<c>runs/{swarm}/{member}/…</c>): <c>swarm.csv</c>, one row per
/// (member, RL step) with reward, accuracy, external groups used and cumulative reward (the sum of the member's step
/// reward means so far, as SAPO reports it), and <c>swarm.png</c>, the reward of each member per step.
/// </summary>
public static class SwarmReport
{
    public const string CsvFileName = SwarmFiles.CsvFileName;
    public const string PlotFileName = SwarmFiles.PlotFileName;

    /// <summary>The rows of every member's <c>metrics.csv</c> (RL steps only), member by member.</summary>
    public static IReadOnlyList<SwarmRow> Rows(string swarmDirectory, IReadOnlyList<string> members)
    {
        var rows = new List<SwarmRow>();
        foreach (var member in members)
        {
            var csv = Path.Combine(swarmDirectory, member, MetricsCsvWriter.FileName);
            if (!File.Exists(csv))
            {
                continue;
            }

            var cumulative = 0.0;
            foreach (var row in MetricsCsvWriter.Read(csv).Where(r => r.Step > 0))
            {
                double? Get(string column) => row.Values.TryGetValue(column, out var v) && double.IsFinite(v) ? v : null;
                var reward = Get("reward_mean");
                cumulative += reward ?? 0;
                rows.Add(new SwarmRow(member, row.Step, reward, Get("accuracy"), Get("swarm/external_groups"), cumulative, Get("eval_accuracy")));
            }
        }

        return rows;
    }

    /// <summary>Writes <c>swarm.csv</c> and <c>swarm.png</c> into <paramref name="swarmDirectory"/>; returns the rows.</summary>
    public static IReadOnlyList<SwarmRow> Write(string swarmDirectory, IReadOnlyList<string> members)
    {
        var rows = Rows(swarmDirectory, members);
        var text = new StringBuilder("member,step,reward_mean,accuracy,external_groups,cumulative_reward,eval_accuracy\n");
        foreach (var r in rows)
        {
            text.AppendLine(string.Join(',', r.Member, r.Step.ToString(CultureInfo.InvariantCulture), Raw(r.Reward), Raw(r.Accuracy), Raw(r.ExternalGroups), Raw(r.CumulativeReward), Raw(r.EvalAccuracy)));
        }

        Directory.CreateDirectory(swarmDirectory);
        File.WriteAllText(Path.Combine(swarmDirectory, CsvFileName), text.ToString());
        File.WriteAllBytes(Path.Combine(swarmDirectory, PlotFileName), RenderPng(Path.GetFileName(Path.GetFullPath(swarmDirectory).TrimEnd(Path.DirectorySeparatorChar)), rows));
        return rows;
    }

    /// <summary>Reward mean per step, one line per member.</summary>
    public static byte[] RenderPng(string title, IReadOnlyList<SwarmRow> rows, int width = TrainingPlot.DefaultWidth, int height = TrainingPlot.DefaultHeight)
    {
        var plot = new Plot();
        plot.Title($"{title}: reward per member");
        plot.XLabel("step");
        plot.YLabel("reward (mean)");
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var member in rows.GroupBy(r => r.Member, StringComparer.Ordinal))
        {
            var points = member.Where(r => r.Reward is not null).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var scatter = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Reward!.Value).ToArray(), palette.GetColor(index++));
            scatter.LegendText = member.Key;
            scatter.LineWidth = 2;
            scatter.MarkerSize = points.Count == 1 ? 6 : 3;
        }

        if (index > 0)
        {
            plot.Legend.Alignment = Alignment.UpperLeft;
            plot.ShowLegend();
        }

        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static string Raw(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
