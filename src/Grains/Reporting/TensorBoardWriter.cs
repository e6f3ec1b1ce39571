using System.Buffers.Binary;
using System.Text;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;unix-time&gt;.&lt;host&gt;</c>) of scalar
/// summaries, without TensorFlow: TFRecord framing around hand-encoded <c>Event</c> protos.
/// </summary>
/// <remarks>
/// Record: <c>uint64 length</c>, <c>uint32 masked CRC-32C(length bytes)</c>, <c>data</c>,
/// <c>uint32 masked CRC-32C(data)</c>, little-endian. Messages written:
/// <code>
/// Event   { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }
/// Summary { repeated Value value = 1; }
/// Value   { string tag = 1; float simple_value = 2; }
/// </code>
/// The first record is the <c>file_version = "brain.Event:2"</c> event; each
/// <see cref="WriteScalars"/> call is one event with one value per tag, flushed before it returns.
/// A resumed run opens a new file in the same directory; TensorBoard merges them.
/// </remarks>
public sealed class TensorBoardWriter : IDisposable
{
    public const string FileVersion = "brain.Event:2";
    private const string What = "TensorBoard event file";

    private readonly AppendOnlyFile _file;
    private readonly Func<DateTimeOffset> _clock;

    /// <param name="directory">The log directory (a run's directory); created when missing.</param>
    /// <param name="hostName">Host part of the file name; defaults to the machine name.</param>
    /// <param name="clock">Wall clock for event times and the file name; defaults to UTC now.</param>
    public TensorBoardWriter(string directory, string? hostName = null, Func<DateTimeOffset>? clock = null)
    {
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        var host = Sanitize(hostName ?? Environment.MachineName);
        var now = _clock();
        var baseName = $"events.out.tfevents.{now.ToUnixTimeSeconds()}.{host}";
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(directory, What, e);
        }

        // Two writers in one second on one host: TensorBoard reads any file containing "tfevents".
        for (var attempt = 0; ; attempt++)
        {
            var candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, attempt == 0 ? baseName : $"{baseName}.{attempt}"));
            if (File.Exists(candidate))
            {
                continue;
            }
            try
            {
                _file = new AppendOnlyFile(candidate, What, FileMode.CreateNew);
                break;
            }
            catch (ArtifactWriteException e) when (e.InnerException is IOException && File.Exists(candidate) && attempt < 100)
            {
                // Lost a race for this name; try the next one.
            }
        }
        Path = _file.Path;
        _file.Append(FrameRecord(EncodeFileVersionEvent(ToWallTime(now))));
    }

    /// <summary>Full path of the event file.</summary>
    public string Path { get; }

    /// <summary>Writes one event at <paramref name="step"/> with a scalar per tag (tags like <c>rollout/reward_mean</c>).</summary>
    /// <exception cref="ArtifactWriteException">The file could not be written.</exception>
    public void WriteScalars(long step, IEnumerable<KeyValuePair<string, double>> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        var summary = new ProtoBuffer();
        foreach (var (tag, value) in scalars)
        {
            var v = new ProtoBuffer();
            v.WriteString(1, tag);
            v.WriteFloat(2, (float)value);
            summary.WriteMessage(1, v);
        }
        var ev = new ProtoBuffer();
        ev.WriteDouble(1, ToWallTime(_clock()));
        ev.WriteInt64(2, step);
        ev.WriteMessage(5, summary);
        _file.Append(FrameRecord(ev.ToArray()));
    }

    /// <summary>Writes one scalar at <paramref name="step"/>.</summary>
    public void WriteScalar(long step, string tag, double value) => WriteScalars(step, [new(tag, value)]);

    public void Dispose() => _file.Dispose();

    /// <summary>Wraps <paramref name="data"/> in TFRecord framing.</summary>
    public static byte[] FrameRecord(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.ComputeMasked(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), Crc32C.ComputeMasked(data));
        return record;
    }

    private static byte[] EncodeFileVersionEvent(double wallTime)
    {
        var ev = new ProtoBuffer();
        ev.WriteDouble(1, wallTime);
        ev.WriteInt64(2, 0);
        ev.WriteString(3, FileVersion);
        return ev.ToArray();
    }

    private static double ToWallTime(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    private static string Sanitize(string host)
    {
        var clean = new string(host.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return clean.Length == 0 ? "localhost" : clean;
    }

    /// <summary>The few protobuf wire-format writes an Event needs.</summary>
    private sealed class ProtoBuffer
    {
        private readonly MemoryStream _bytes = new();

        public void WriteDouble(int field, double value)
        {
            WriteTag(field, 1);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(b, value);
            _bytes.Write(b);
        }

        public void WriteFloat(int field, float value)
        {
            WriteTag(field, 5);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            _bytes.Write(b);
        }

        public void WriteInt64(int field, long value)
        {
            WriteTag(field, 0);
            WriteVarint(unchecked((ulong)value));
        }

        public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

        public void WriteMessage(int field, ProtoBuffer message) => WriteBytes(field, message.ToArray());

        public byte[] ToArray() => _bytes.ToArray();

        private void WriteBytes(int field, byte[] value)
        {
            WriteTag(field, 2);
            WriteVarint((ulong)value.Length);
            _bytes.Write(value);
        }

        private void WriteTag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.WriteByte((byte)value);
        }
    }
}
