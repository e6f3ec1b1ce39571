using System.Globalization;
using System.Text;
using AgentRl.Abstractions.Training;
using AgentRl.Pipeline.Metrics;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// Writes <c>metrics.csv</c>: one row per step, <see cref="MetricColumns.FixedColumns"/> first, then
/// any other metric in order of first appearance (see <see cref="MetricColumns"/> for the mapping from
/// stable metric names to columns). Numbers are invariant-culture: integers exact, other values rounded to six
/// significant digits (<see cref="FormatValue"/>); a metric missing from a step is an empty cell. Each row is flushed as
/// it is written.
/// </summary>
/// <remarks>
/// The header is written once. When a step brings a metric with no column yet, the file is rewritten
/// (to a temporary file, then moved over) with the extended header and the earlier rows padded with
/// empty cells. Appending the step of the last row again (train and eval metrics recorded separately)
/// merges into that row instead of adding a second one: new values win, cells not given stay. Opening an existing file appends to it under its own header; a torn last line (a crash
/// mid-write) is dropped, and with <c>resumeAfterStep</c> rows of later steps (replayed after a
/// checkpoint restore) are dropped too.
/// </remarks>
public sealed class MetricsCsvWriter : IDisposable
{
    public const string FileName = "metrics.csv";
    private const string What = "metrics CSV";

    private readonly List<string> _columns;
    private readonly Dictionary<string, int> _index;
    private AppendOnlyFile? _file;
    private string? _lastRow;

    /// <param name="path">The CSV file; its directory is created when missing.</param>
    /// <param name="resumeAfterStep">When resuming from a checkpoint of this step, rows of later steps are dropped.</param>
    /// <param name="fixedColumns">The leading columns, <c>step</c> first (default <see cref="MetricColumns.FixedColumns"/>; <c>timings.csv</c> has only <c>step</c>).</param>
    public MetricsCsvWriter(string path, long? resumeAfterStep = null, IReadOnlyList<string>? fixedColumns = null)
    {
        fixedColumns ??= MetricColumns.FixedColumns;
        Path = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(Path, What, e);
        }

        (string? Header, List<string> Rows, bool Torn)? existing = File.Exists(Path) ? ReadLines(Path) : null;
        if (existing is { Header: not null })
        {
            _columns = ParseCsvLine(existing.Value.Header);
            if (_columns.Count == 0 || _columns[0] != MetricColumns.Step)
            {
                throw new InvalidDataException($"'{Path}' is not a metrics CSV: its first column is not '{MetricColumns.Step}'.");
            }
            _index = BuildIndex(_columns, Path);
            var rows = existing.Value.Rows;
            var kept = resumeAfterStep is { } last ? rows.Where(r => ParseStep(r) <= last).ToList() : rows;
            var missingFixed = fixedColumns.Where(c => !_index.ContainsKey(c)).ToList();
            if (existing.Value.Torn || kept.Count != rows.Count || missingFixed.Count > 0)
            {
                foreach (var column in missingFixed)
                {
                    _index[column] = _columns.Count;
                    _columns.Add(column);
                }
                Rewrite(kept);
            }
            else
            {
                _lastRow = rows.LastOrDefault();
            }
        }
        else
        {
            _columns = [.. fixedColumns];
            _index = BuildIndex(_columns, Path);
            Rewrite([]);
        }
        _file ??= new AppendOnlyFile(Path, What);
    }

    /// <summary>Full path of the CSV file.</summary>
    public string Path { get; }

    /// <summary>The current header, <c>step</c> first.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>Appends the row of <paramref name="step"/>; keys are stable metric names or column names.</summary>
    /// <exception cref="ArgumentException">Two keys map to one column, a key maps to <c>step</c>, or a name has a line break.</exception>
    /// <exception cref="ArtifactWriteException">The file could not be written.</exception>
    public void Append(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ObjectDisposedException.ThrowIf(_file is null, this);

        var byColumn = new Dictionary<string, double>(metrics.Count, StringComparer.Ordinal);
        foreach (var (name, value) in metrics)
        {
            var column = MetricColumns.ToColumn(name);
            if (column == MetricColumns.Step)
            {
                throw new ArgumentException($"'{name}' is the step column; pass the step as the step argument.", nameof(metrics));
            }
            if (column.Length == 0 || column.Contains('\n') || column.Contains('\r'))
            {
                throw new ArgumentException($"Metric name '{name}' is empty or has a line break.", nameof(metrics));
            }
            if (!byColumn.TryAdd(column, value))
            {
                throw new ArgumentException($"Two metrics map to the CSV column '{column}' (one of them is '{name}').", nameof(metrics));
            }
        }

        var added = byColumn.Keys.Where(c => !_index.ContainsKey(c)).Order(StringComparer.Ordinal).ToList();
        if (added.Count > 0)
        {
            foreach (var column in added)
            {
                _index[column] = _columns.Count;
                _columns.Add(column);
            }
            _file!.Dispose();
            _file = null;
            try
            {
                Rewrite(ReadLines(Path).Rows);
            }
            catch (ArtifactWriteException)
            {
                // The file keeps its old header; forget the new columns so later rows still match it.
                foreach (var column in added)
                {
                    _index.Remove(column);
                }
                _columns.RemoveRange(_columns.Count - added.Count, added.Count);
                throw;
            }
        }

        _file ??= new AppendOnlyFile(Path, What);
        var previous = _lastRow is not null && ParseStep(_lastRow) == step ? _lastRow : null;
        var cells = previous?.Split(',') ?? [];
        var filled = Math.Min(cells.Length, _columns.Count);
        Array.Resize(ref cells, _columns.Count);
        Array.Fill(cells, "", filled, cells.Length - filled);
        cells[0] = step.ToString(CultureInfo.InvariantCulture);
        foreach (var (column, value) in byColumn)
        {
            cells[_index[column]] = FormatValue(value);
        }
        var row = string.Join(',', cells);
        if (previous is null)
        {
            _file.Append(Encoding.UTF8.GetBytes(row + "\n"));
        }
        else
        {
            // The previous row of this step is the file's last line: replace it with the merged row.
            var previousBytes = Encoding.UTF8.GetBytes(previous + "\n");
            _file.Truncate(_file.Length - previousBytes.Length);
            try
            {
                _file.Append(Encoding.UTF8.GetBytes(row + "\n"));
            }
            catch (ArtifactWriteException)
            {
                TryRestore(previousBytes);
                throw;
            }
        }
        _lastRow = row;
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }

    /// <summary>Reads a metrics CSV: one entry per complete row, values keyed by column (empty cells left out).</summary>
    public static IReadOnlyList<MetricsCsvRow> Read(string path) => Rows(ReadLines(path));

    /// <summary>The rows of a metrics CSV's text (as <see cref="IRunFilesGrain"/> serves it), as <see cref="Read"/> reads a file.</summary>
    public static IReadOnlyList<MetricsCsvRow> Parse(string text) => Rows(SplitLines(text));

    private static IReadOnlyList<MetricsCsvRow> Rows((string? Header, List<string> Rows, bool Torn) lines)
    {
        var (header, rows, _) = lines;
        if (header is null)
        {
            return [];
        }
        var columns = ParseCsvLine(header);
        var result = new List<MetricsCsvRow>(rows.Count);
        foreach (var row in rows)
        {
            var cells = row.Split(',');
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            for (var i = 1; i < cells.Length && i < columns.Count; i++)
            {
                if (cells[i].Length > 0)
                {
                    values[columns[i]] = double.Parse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture);
                }
            }
            result.Add(new MetricsCsvRow(ParseStep(row), values));
        }
        return result;
    }

    /// <summary>Significant digits a fractional value keeps in the CSV.</summary>
    public const int SignificantDigits = 6;

    /// <summary>
    /// Formats a value as written to the CSV, invariant culture: integers exactly (<c>3</c>, <c>1234567</c>), any other
    /// value rounded to <see cref="SignificantDigits"/> significant digits but never above its integer part
    /// (<c>0.38906250000000003</c> → <c>0.389063</c>, <c>1234567.875</c> → <c>1234568</c>), in its shortest form;
    /// <c>NaN</c> and infinities as .NET spells them.
    /// </summary>
    public static string FormatValue(double value)
    {
        if (!double.IsFinite(value) || value == Math.Round(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        var integerDigits = (int)Math.Floor(Math.Log10(Math.Abs(value))) + 1;
        var digits = Math.Clamp(integerDigits, SignificantDigits, 17);
        var rounded = double.Parse(value.ToString("G" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
        return rounded.ToString(CultureInfo.InvariantCulture);
    }

    private void Rewrite(IReadOnlyList<string> rows)
    {
        var temporary = Path + ".tmp";
        string? last = null;
        try
        {
            var text = new StringBuilder();
            text.Append(string.Join(',', _columns.Select(QuoteIfNeeded))).Append('\n');
            foreach (var row in rows)
            {
                var cellCount = row.Count(c => c == ',') + 1;
                last = row + new string(',', Math.Max(0, _columns.Count - cellCount));
                text.Append(last).Append('\n');
            }
            File.WriteAllText(temporary, text.ToString(), new UTF8Encoding(false));
            File.Move(temporary, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new ArtifactWriteException(Path, What, e);
        }
        _lastRow = last;
        _file = new AppendOnlyFile(Path, What);
    }

    private void TryRestore(byte[] previousRow)
    {
        try
        {
            _file?.Append(previousRow);
        }
        catch (ArtifactWriteException)
        {
            // The original failure is reported by the caller.
        }
    }

    private static (string? Header, List<string> Rows, bool Torn) ReadLines(string path)
    {
        string text;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(path, What, e);
        }

        return SplitLines(text);
    }

    private static (string? Header, List<string> Rows, bool Torn) SplitLines(string text)
    {
        var lines = text.Split('\n');
        // The piece after the last '\n' is empty for a complete file, or a row torn by a crash.
        var torn = lines[^1].Length > 0;
        var complete = lines.Take(lines.Length - 1).Select(l => l.TrimEnd('\r')).ToList();
        if (complete.Count == 0)
        {
            return (null, [], torn);
        }
        return (complete[0], complete.Skip(1).Where(l => l.Length > 0).ToList(), torn);
    }

    private static long ParseStep(string row)
    {
        var comma = row.IndexOf(',');
        var cell = comma < 0 ? row : row[..comma];
        return long.Parse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, int> BuildIndex(List<string> columns, string path)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            if (!index.TryAdd(columns[i], i))
            {
                throw new InvalidDataException($"'{path}' has the column '{columns[i]}' twice.");
            }
        }
        return index;
    }

    private static string QuoteIfNeeded(string cell) =>
        cell.AsSpan().IndexOfAny(",\"") >= 0 || cell.Trim().Length != cell.Length
            ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : cell;

    /// <summary>Splits one CSV line (RFC 4180 quoting, no embedded line breaks).</summary>
    internal static List<string> ParseCsvLine(string line) => CsvLine.Split(line);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The temporary file is left behind; the next rewrite overwrites it.
        }
    }
}

/// <summary>One row of <c>metrics.csv</c>: the step and the non-empty cells keyed by column.</summary>
public sealed record MetricsCsvRow(long Step, IReadOnlyDictionary<string, double> Values);
