using System.Buffers.Binary;
using System.Text;

namespace AgentRl.Cluster.Tests.Reporting;

/// <summary>
/// A TensorBoard event-file reader written independently of the product code: its own bitwise
/// CRC-32C, TFRecord de-framing with CRC checks, and a generic protobuf field decoder.
/// </summary>
internal static class EventFileReader
{
    internal sealed record ScalarValue(string Tag, float Value);

    internal sealed record Event(double WallTime, long Step, string? FileVersion, IReadOnlyList<ScalarValue> Values);

    public static IReadOnlyList<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (bytes.Length - offset < 12)
            {
                throw new InvalidDataException($"truncated record header at {offset}");
            }
            var header = bytes.AsSpan(offset, 8);
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header));
            var lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8, 4));
            if (lengthCrc != MaskedCrc(header))
            {
                throw new InvalidDataException($"length CRC mismatch at {offset}");
            }
            if (bytes.Length - offset < 12 + length + 4)
            {
                throw new InvalidDataException($"truncated record data at {offset}");
            }
            var data = bytes.AsSpan(offset + 12, length);
            var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 12 + length, 4));
            if (dataCrc != MaskedCrc(data))
            {
                throw new InvalidDataException($"data CRC mismatch at {offset}");
            }
            events.Add(DecodeEvent(data.ToArray()));
            offset += 12 + length + 4;
        }
        return events;
    }

    /// <summary>Bit-at-a-time CRC-32C (no table), masked as TensorFlow does.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
            }
        }
        crc = ~crc;
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
    }

    private static Event DecodeEvent(byte[] data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var values = new List<ScalarValue>();
        foreach (var (field, wire, raw, varint) in Fields(data))
        {
            switch (field, wire)
            {
                case (1, 1):
                    wallTime = BinaryPrimitives.ReadDoubleLittleEndian(raw);
                    break;
                case (2, 0):
                    step = unchecked((long)varint);
                    break;
                case (3, 2):
                    fileVersion = Encoding.UTF8.GetString(raw);
                    break;
                case (5, 2):
                    foreach (var (sf, sw, sraw, _) in Fields(raw))
                    {
                        Assert.Equal((1, 2), (sf, sw));
                        values.Add(DecodeValue(sraw));
                    }
                    break;
                default:
                    throw new InvalidDataException($"unexpected Event field {field} (wire type {wire})");
            }
        }
        return new Event(wallTime, step, fileVersion, values);
    }

    private static ScalarValue DecodeValue(byte[] data)
    {
        string? tag = null;
        float? value = null;
        foreach (var (field, wire, raw, _) in Fields(data))
        {
            switch (field, wire)
            {
                case (1, 2):
                    tag = Encoding.UTF8.GetString(raw);
                    break;
                case (2, 5):
                    value = BinaryPrimitives.ReadSingleLittleEndian(raw);
                    break;
                default:
                    throw new InvalidDataException($"unexpected Value field {field} (wire type {wire})");
            }
        }
        return new ScalarValue(tag ?? throw new InvalidDataException("Value without tag"), value ?? throw new InvalidDataException("Value without simple_value"));
    }

    private static IEnumerable<(int Field, int Wire, byte[] Raw, ulong Varint)> Fields(byte[] data)
    {
        var offset = 0;
        while (offset < data.Length)
        {
            var key = ReadVarint(data, ref offset);
            var field = (int)(key >> 3);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    yield return (field, wire, [], ReadVarint(data, ref offset));
                    break;
                case 1:
                    yield return (field, wire, data[offset..(offset + 8)], 0);
                    offset += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(data, ref offset);
                    yield return (field, wire, data[offset..(offset + length)], 0);
                    offset += length;
                    break;
                case 5:
                    yield return (field, wire, data[offset..(offset + 4)], 0);
                    offset += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    private static ulong ReadVarint(byte[] data, ref int offset)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[offset++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
    }
}
