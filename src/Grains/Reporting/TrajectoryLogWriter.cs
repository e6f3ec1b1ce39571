using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// Logs sampled trajectories as JSON Lines (one System.Text.Json object per line, any record type; a run writes
/// <see cref="TrajectoryRecord"/>s, by default with <see cref="TrajectoryRecord.JsonOptions"/>),
/// in files <c>&lt;baseName&gt;.0000.jsonl</c>, <c>.0001.jsonl</c>, … of at most
/// <c>maxBytesPerFile</c> each (a single larger record gets a file to itself). Each write is flushed
/// before it returns. Thread-safe.
/// </summary>
/// <remarks>
/// Opening a directory that already has files continues the last one (a torn last line starts a
/// new file instead). IO failures (disk full, permissions, directory removed) surface as
/// <see cref="ArtifactWriteException"/> naming the file; the failed line is rolled back and the
/// writer stays usable.
/// </remarks>
public sealed class TrajectoryLogWriter : IDisposable
{
    public const string DefaultBaseName = TrajectoryRecord.FileBaseName;
    public const long DefaultMaxBytesPerFile = 64L * 1024 * 1024;
    private const string What = "trajectory log";

    private readonly string _directory;
    private readonly string _baseName;
    private readonly long _maxBytesPerFile;
    private readonly JsonSerializerOptions _json;
    private readonly Lock _gate = new();
    private AppendOnlyFile? _file;
    private int _index;
    private bool _disposed;

    /// <param name="directory">Directory of the log files; created when missing.</param>
    /// <param name="maxBytesPerFile">Size cap of one file, in bytes.</param>
    /// <param name="baseName">File name prefix.</param>
    /// <param name="jsonOptions">Serializer options (default <see cref="TrajectoryRecord.JsonOptions"/>); indentation is always turned off.</param>
    public TrajectoryLogWriter(
        string directory,
        long maxBytesPerFile = DefaultMaxBytesPerFile,
        string baseName = DefaultBaseName,
        JsonSerializerOptions? jsonOptions = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytesPerFile, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        _directory = Path.GetFullPath(directory);
        _baseName = baseName;
        _maxBytesPerFile = maxBytesPerFile;
        _json = new JsonSerializerOptions(jsonOptions ?? TrajectoryRecord.JsonOptions) { WriteIndented = false };
        try
        {
            Directory.CreateDirectory(_directory);
            var existing = ExistingIndices();
            _index = existing.Count == 0 ? 0 : existing.Max();
            if (existing.Count > 0 && EndsTorn(PathOf(_index)))
            {
                _index++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(_directory, What, e);
        }
    }

    /// <summary>The file the next record goes to (unless it rotates).</summary>
    public string CurrentPath => PathOf(_index);

    /// <summary>The log files in the directory, in order.</summary>
    public IReadOnlyList<string> Files
    {
        get
        {
            lock (_gate)
            {
                return ExistingIndices().Order().Select(PathOf).ToList();
            }
        }
    }

    /// <summary>Appends one record as a JSON line (serialized as its runtime type).</summary>
    /// <exception cref="ArgumentException">The record cannot be serialized to JSON.</exception>
    /// <exception cref="ArtifactWriteException">The line could not be written; nothing of it stays in the file.</exception>
    public void Write<T>(T record)
    {
        byte[] json;
        try
        {
            json = JsonSerializer.SerializeToUtf8Bytes(record, record?.GetType() ?? typeof(T), _json);
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new ArgumentException($"The trajectory of type {typeof(T).Name} cannot be written as JSON: {e.Message}", nameof(record), e);
        }
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _file ??= new AppendOnlyFile(PathOf(_index), What);
            if (_file.Length > 0 && _file.Length + line.Length > _maxBytesPerFile)
            {
                _file.Dispose();
                _file = null;
                _index++;
                _file = new AppendOnlyFile(PathOf(_index), What);
            }
            try
            {
                _file.Append(line);
            }
            catch (ArtifactWriteException)
            {
                // Reopen on the next write: the file may have been replaced or its directory removed.
                _file.Dispose();
                _file = null;
                throw;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _file?.Dispose();
            _file = null;
        }
    }

    private string PathOf(int index) =>
        Path.Combine(_directory, $"{_baseName}.{index.ToString("D4", CultureInfo.InvariantCulture)}.jsonl");

    private List<int> ExistingIndices()
    {
        var prefix = _baseName + ".";
        var indices = new List<int>();
        foreach (var file in Directory.EnumerateFiles(_directory, _baseName + ".*.jsonl"))
        {
            var name = Path.GetFileName(file);
            var middle = name[prefix.Length..^".jsonl".Length];
            if (int.TryParse(middle, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                indices.Add(index);
            }
        }
        return indices;
    }

    private static bool EndsTorn(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (stream.Length == 0)
        {
            return false;
        }
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() != '\n';
    }
}
