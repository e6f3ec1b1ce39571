using System.Globalization;
using System.Text;
using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// <c>sft.csv</c>: the warm start's loss curve, one row per SFT batch (<c>batch,epoch,loss,learning_rate</c>; batches
/// counted from 1 over all passes, epochs from 1 within a pass). A warm start that begins again (a run taken up after a
/// lost silo redoes it) starts the file afresh. Each row reaches the OS before <see cref="Append"/> returns.
/// </summary>
public sealed class SftLogWriter : IDisposable
{
    public const string FileName = "sft.csv";
    public const string Header = "batch,epoch,loss,learning_rate";
    private readonly AppendOnlyFile _file;

    /// <summary>Creates (or empties) <c>sft.csv</c> in <paramref name="runDirectory"/> and writes the header.</summary>
    /// <exception cref="ArtifactWriteException">The file could not be written.</exception>
    public SftLogWriter(string runDirectory)
    {
        _file = new AppendOnlyFile(System.IO.Path.Combine(runDirectory, FileName), "warm-start log", FileMode.Create);
        _file.Append(Encoding.UTF8.GetBytes(Header + "\n"));
    }

    public string Path => _file.Path;

    /// <summary>Appends the rows of <paramref name="batches"/>, in order.</summary>
    public void Append(IEnumerable<SftBatchRecord> batches)
    {
        var text = new StringBuilder();
        foreach (var b in batches)
        {
            text.Append(CultureInfo.InvariantCulture, $"{b.Batch},{b.Epoch},{b.Loss.ToString("G6", CultureInfo.InvariantCulture)},{b.LearningRate.ToString("G6", CultureInfo.InvariantCulture)}\n");
        }

        if (text.Length > 0)
        {
            _file.Append(Encoding.UTF8.GetBytes(text.ToString()));
        }
    }

    /// <summary>The (batch, epoch, loss, learning rate) rows of an <c>sft.csv</c>; none when the file is missing.</summary>
    public static IReadOnlyList<(int Batch, int Epoch, double Loss, double LearningRate)> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        return [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Where(p => p.Length >= 4)
            .Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture), double.Parse(p[2], CultureInfo.InvariantCulture), double.Parse(p[3], CultureInfo.InvariantCulture)))];
    }

    public void Dispose() => _file.Dispose();
}
