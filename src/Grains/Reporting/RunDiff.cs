using System.Globalization;
using System.Security.Cryptography;
using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// Compares two run directories for reproducibility (<c>agentrl runs diff</c>): <c>metrics.csv</c> byte for byte (naming
/// the first differing cell), the sampled trajectories byte for byte, and every weight file — published checkpoints and
/// the trainer's model, reference and optimizer state — by SHA-256. <c>timings.csv</c>, the run's configuration (its id
/// and folder differ by design), <c>run_state.json</c>, the plot and TensorBoard events are left out: they hold wall
/// clock, names or renderings, not what the seed determines.
/// </summary>
public static class RunDiff
{
    /// <summary>The differences, none when the runs are the same. Throws <see cref="DirectoryNotFoundException"/> for a missing run.</summary>
    public static IReadOnlyList<RunDifference> Compare(string runA, string runB)
    {
        foreach (var run in new[] { runA, runB })
        {
            if (!Directory.Exists(run))
            {
                throw new DirectoryNotFoundException($"Run directory '{run}' not found.");
            }
        }

        var differences = new List<RunDifference>();
        differences.AddRange(CompareMetrics(runA, runB));
        foreach (var file in Union(runA, runB, RunArtifacts.TrajectoryDirectoryName, "*.jsonl"))
        {
            differences.AddRange(CompareTrajectories(runA, runB, file));
        }

        foreach (var file in Union(runA, runB, "checkpoints", "*.safetensors").Concat(Union(runA, runB, "trainer", "*.safetensors")))
        {
            differences.AddRange(CompareHashes(runA, runB, file));
        }

        return differences;
    }

    /// <summary>SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static IEnumerable<RunDifference> CompareMetrics(string runA, string runB)
    {
        var (a, b) = (Path.Combine(runA, MetricsCsvWriter.FileName), Path.Combine(runB, MetricsCsvWriter.FileName));
        if (Missing(a, b, MetricsCsvWriter.FileName) is { } missing)
        {
            yield return missing;
            yield break;
        }

        var (bytesA, bytesB) = (File.ReadAllBytes(a), File.ReadAllBytes(b));
        if (bytesA.AsSpan().SequenceEqual(bytesB))
        {
            yield break;
        }

        var (linesA, linesB) = (Lines(bytesA), Lines(bytesB));

        if (linesA.Length == 0 || linesB.Length == 0 || linesA[0] != linesB[0])
        {
            yield return new(MetricsCsvWriter.FileName, "the headers differ (other metrics were recorded)");
            yield break;
        }

        var header = MetricsCsvWriter.ParseCsvLine(linesA[0]);
        var cells = 0;
        string? first = null;
        for (var row = 1; row < Math.Max(linesA.Length, linesB.Length); row++)
        {
            var (rowA, rowB) = (row < linesA.Length ? MetricsCsvWriter.ParseCsvLine(linesA[row]) : [], row < linesB.Length ? MetricsCsvWriter.ParseCsvLine(linesB[row]) : []);
            for (var column = 0; column < header.Count; column++)
            {
                var (cellA, cellB) = (column < rowA.Count ? rowA[column] : "(none)", column < rowB.Count ? rowB[column] : "(none)");
                if (cellA != cellB)
                {
                    cells++;
                    first ??= string.Create(CultureInfo.InvariantCulture, $"first at step {(rowA.Count > 0 ? rowA[0] : rowB[0])}, {header[column]}: {cellA} vs {cellB}");
                }
            }
        }

        yield return new(MetricsCsvWriter.FileName, first is null ? "the bytes differ (line endings or a torn row)" : $"{cells} cells differ; {first}");
    }

    /// <summary>Trajectory logs byte for byte once each run's id, which names its groups (<c>{run}/{step}/{i}</c>), reads <c>&lt;run&gt;</c>.</summary>
    private static IEnumerable<RunDifference> CompareTrajectories(string runA, string runB, string file)
    {
        var (a, b) = (Path.Combine(runA, file), Path.Combine(runB, file));
        if (Missing(a, b, file) is { } missing)
        {
            yield return missing;
            yield break;
        }

        string Normalized(string path, string run) => File.ReadAllText(path).Replace(Path.GetFileName(Path.TrimEndingDirectorySeparator(run)), "<run>", StringComparison.Ordinal);
        var (linesA, linesB) = (Normalized(a, runA).Split('\n'), Normalized(b, runB).Split('\n'));
        var differing = Enumerable.Range(0, Math.Max(linesA.Length, linesB.Length)).Where(i => i >= linesA.Length || i >= linesB.Length || linesA[i] != linesB[i]).ToList();
        if (differing.Count > 0)
        {
            yield return new(file, $"{differing.Count} of {Math.Max(linesA.Length, linesB.Length) - 1} records differ, first at line {differing[0] + 1}");
        }
    }

    private static IEnumerable<RunDifference> CompareHashes(string runA, string runB, string file)
    {
        var (a, b) = (Path.Combine(runA, file), Path.Combine(runB, file));
        if (Missing(a, b, file) is { } missing)
        {
            yield return missing;
        }
        else if (Sha256(a) is var hashA && Sha256(b) is var hashB && hashA != hashB)
        {
            yield return new(file, $"sha256 {hashA[..16]}… vs {hashB[..16]}…");
        }
    }

    private static string[] Lines(byte[] utf8) => System.Text.Encoding.UTF8.GetString(utf8).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    private static RunDifference? Missing(string a, string b, string file) =>
        (File.Exists(a), File.Exists(b)) switch
        {
            (true, true) => null,
            (false, false) => new(file, "missing in both runs"),
            (false, true) => new(file, "only in the second run"),
            _ => new(file, "only in the first run"),
        };

    /// <summary>Files matching <paramref name="pattern"/> under <paramref name="folder"/> of either run, relative to the run, sorted.</summary>
    private static IEnumerable<string> Union(string runA, string runB, string folder, string pattern) =>
        new[] { runA, runB }
            .SelectMany(run => Directory.Exists(Path.Combine(run, folder))
                ? Directory.EnumerateFiles(Path.Combine(run, folder), pattern, SearchOption.AllDirectories).Select(f => Path.GetRelativePath(run, f).Replace('\\', '/'))
                : [])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
}
