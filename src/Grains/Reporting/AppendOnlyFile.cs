namespace AgentRl.Grains.Reporting;

/// <summary>
/// An unbuffered append-only file: each <see cref="Append"/> is one write that reaches the OS
/// before it returns (flush per row/step/record). A failed write is rolled back to the previous
/// length where the file system allows, so a later write never lands after half a record.
/// </summary>
internal sealed class AppendOnlyFile : IDisposable
{
    private readonly string _what;
    private FileStream? _stream;

    public AppendOnlyFile(string path, string what, FileMode mode = FileMode.Append)
    {
        Path = path;
        _what = what;
        try
        {
            // FileMode.Append would forbid cutting back data that was there before this writer opened
            // the file (a resumed run merging into its last CSV row), so open and seek to the end instead.
            var openMode = mode == FileMode.Append ? FileMode.OpenOrCreate : mode;
            _stream = new FileStream(path, openMode, FileAccess.Write, FileShare.Read, bufferSize: 0);
            _stream.Seek(0, SeekOrigin.End);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _stream?.Dispose();
            throw new ArtifactWriteException(path, what, e);
        }
    }

    public string Path { get; }

    /// <summary>Bytes in the file (as far as this writer knows).</summary>
    public long Length => Stream.Length;

    private FileStream Stream => _stream ?? throw new ObjectDisposedException(Path);

    public void Append(ReadOnlySpan<byte> data)
    {
        var stream = Stream;
        long start = 0;
        try
        {
            start = stream.Length;
            stream.Seek(start, SeekOrigin.Begin);
            stream.Write(data);
            stream.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                stream.SetLength(start);
                stream.Seek(start, SeekOrigin.Begin);
            }
            catch (Exception rollback) when (rollback is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // Nothing more to do: the failure is reported below.
            }
            throw new ArtifactWriteException(Path, _what, e);
        }
    }

    /// <summary>Cuts the file back to <paramref name="length"/> bytes (to replace its last record).</summary>
    public void Truncate(long length)
    {
        var stream = Stream;
        try
        {
            stream.SetLength(length);
            stream.Seek(length, SeekOrigin.Begin);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(Path, _what, e);
        }
    }

    public void Dispose()
    {
        var stream = _stream;
        _stream = null;
        stream?.Dispose();
    }
}
