using System.Text;

namespace AgentRl.Abstractions.Training;

/// <summary>The cells of one line of a run's CSV artifacts (<c>metrics.csv</c>, <c>timings.csv</c>), as the writers quote them.</summary>
public static class CsvLine
{
    /// <summary>Splits one CSV line (RFC 4180 quoting: a quoted cell may hold commas and doubled quotes; no embedded line breaks).</summary>
    public static List<string> Split(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var cells = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
