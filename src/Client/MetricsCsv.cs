using System.Globalization;
using AgentRl.Abstractions.Training;

namespace AgentRl.Client;

/// <summary>Reads the text of a run's <c>metrics.csv</c>: a header of column names, then one row per step.</summary>
internal static class MetricsCsv
{
    /// <summary>One row per complete line (a line torn by a crash is skipped); empty cells are left out.</summary>
    public static IReadOnlyList<MetricsRow> Parse(string text)
    {
        var lines = text.Split('\n');
        var complete = lines.Take(lines.Length - 1).Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        if (complete.Count == 0)
        {
            return [];
        }

        var columns = Cells(complete[0]);
        var rows = new List<MetricsRow>(complete.Count - 1);
        foreach (var line in complete.Skip(1))
        {
            var cells = Cells(line);
            if (cells.Count == 0 || !long.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step))
            {
                continue;
            }

            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            for (var i = 1; i < cells.Count && i < columns.Count; i++)
            {
                if (cells[i].Length > 0 && double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    values[columns[i]] = value;
                }
            }

            rows.Add(new MetricsRow(step, values));
        }

        return rows;
    }

    private static List<string> Cells(string line) => CsvLine.Split(line);
}
