using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace AgentRl.Policy.HuggingFace;

/// <summary>One entry of a safetensors header: where a tensor's bytes lie in the data section.</summary>
/// <param name="Name">The tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Dtype">The stored element type.</param>
/// <param name="Shape">The shape; empty for a scalar.</param>
/// <param name="DataBegin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="DataEnd">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long DataBegin, long DataEnd)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => checked(n * d));

    public long ByteLength => DataEnd - DataBegin;

    public long[] ShapeArray => [.. Shape];

    public override string ToString() => $"{Name} {Dtype.ToHeaderName()} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// The header of a safetensors file. Layout of the file: an unsigned 64-bit little-endian length N, then N bytes
/// of UTF-8 JSON (padded with spaces to a multiple of 8), then the data section. The JSON maps each tensor name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c>, plus an optional <c>"__metadata__"</c> string map.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Key of the free-form string map in the header.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    public SafetensorsHeader(IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata, long headerLength)
    {
        Tensors = tensors;
        Metadata = metadata ?? new Dictionary<string, string>();
        HeaderLength = headerLength;
        _byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        foreach (var info in tensors)
        {
            if (!_byName.TryAdd(info.Name, info))
            {
                throw new FormatException($"Safetensors header names tensor '{info.Name}' twice.");
            }
        }
    }

    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>N, the JSON length (padding included) stored in the first 8 bytes.</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute file offset of the data section: 8 + N.</summary>
    public long DataOffset => 8 + HeaderLength;

    /// <summary>Total bytes of tensor data (the end of the last tensor).</summary>
    public long DataLength => Tensors.Count == 0 ? 0 : Tensors.Max(t => t.DataEnd);

    public IEnumerable<string> Names => Tensors.Select(t => t.Name);

    public SafetensorsTensorInfo this[string name] =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"No tensor named '{name}' in the safetensors header.");

    public bool TryGet(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Reads and validates only the header of a file: names, dtypes, shapes, offsets; no tensor data.</summary>
    public static SafetensorsHeader Read(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(handle, path);
    }

    /// <summary>Reads the header of an open file without moving or closing the handle.</summary>
    public static SafetensorsHeader Read(SafeFileHandle handle, string? sourceName = null)
    {
        var where = sourceName ?? "file";
        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> prefix = stackalloc byte[8];
        if (fileLength < 8 || RandomAccess.Read(handle, prefix, 0) < 8)
        {
            throw new FormatException($"Safetensors {where}: shorter than the 8-byte header length.");
        }
        var json = ReadJson(prefix, fileLength, where);
        var done = 0;
        while (done < json.Length)
        {
            var read = RandomAccess.Read(handle, json.AsSpan(done), 8 + done);
            done += read > 0 ? read : throw new FormatException($"Safetensors {where}: the file ends inside the header.");
        }
        return Parse(json, fileLength - 8 - json.Length, where);
    }

    private static byte[] ReadJson(ReadOnlySpan<byte> prefix, long fileLength, string where)
    {
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderLength || (long)headerLength > fileLength - 8)
        {
            throw new FormatException($"Safetensors {where}: header length {headerLength} is invalid for a file of {fileLength} bytes.");
        }
        return new byte[(int)headerLength];
    }

    /// <summary>Reads the header from the start of <paramref name="stream"/>, which must be seekable to know its length.</summary>
    public static SafetensorsHeader Read(Stream stream, string? sourceName = null)
    {
        var where = sourceName ?? "stream";
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
        {
            throw new FormatException($"Safetensors {where}: shorter than the 8-byte header length.");
        }
        var fileLength = stream.Length;
        var json = ReadJson(prefix, fileLength, where);
        stream.ReadExactly(json);
        return Parse(json, fileLength - 8 - json.Length, where);
    }

    /// <summary>Parses header JSON and checks every tensor against a data section of <paramref name="dataLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string where = "header")
    {
        var trimmed = json.TrimEnd((byte)' ');
        if (trimmed.Length == 0 || trimmed[0] != (byte)'{')
        {
            throw new FormatException($"Safetensors {where}: the header is not a JSON object.");
        }

        // The JSON reader accepts invalid UTF-8 inside a string and throws InvalidOperationException when the string is read.
        if (!System.Text.Unicode.Utf8.IsValid(trimmed))
        {
            throw new FormatException($"Safetensors {where}: the header is not valid UTF-8.");
        }

        using var document = ParseJson(trimmed, where);
        var tensors = new List<SafetensorsTensorInfo>();
        Dictionary<string, string>? metadata = null;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Name == MetadataKey)
            {
                metadata = ParseMetadata(property.Value, where);
                continue;
            }
            tensors.Add(ParseTensor(property.Name, property.Value, where));
        }
        Validate(tensors, dataLength, where);
        return new SafetensorsHeader(tensors, metadata, json.Length);
    }

    /// <summary>
    /// The header bytes (length prefix, JSON, space padding) for tensors laid out in the given order, with
    /// <c>__metadata__</c> first (keys sorted) when present. The JSON is compact and ASCII-safe like the reference writer's.
    /// </summary>
    public static byte[] Serialize(IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            foreach (var info in tensors)
            {
                writer.WriteStartObject(info.Name);
                writer.WriteString("dtype", info.Dtype.ToHeaderName());
                writer.WriteStartArray("shape");
                foreach (var dim in info.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(info.DataBegin);
                writer.WriteNumberValue(info.DataEnd);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        var jsonLength = buffer.WrittenCount;
        var padded = (jsonLength + 7) / 8 * 8;
        var bytes = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        buffer.WrittenSpan.CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + jsonLength).Fill((byte)' ');
        return bytes;
    }

    private static JsonDocument ParseJson(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Safetensors {where}: the header is not valid JSON ({e.Message}).", e);
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"Safetensors {where}: {MetadataKey} must be an object of strings.");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new FormatException($"Safetensors {where}: {MetadataKey}.{entry.Name} must be a string.");
            }
            metadata[entry.Name] = entry.Value.GetString()!;
        }
        return metadata;
    }

    private static SafetensorsTensorInfo ParseTensor(string name, JsonElement element, string where)
    {
        try
        {
            var dtype = SafetensorsDtypes.Parse(element.GetProperty("dtype").GetString()!);
            var shape = element.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = element.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2)
            {
                throw new FormatException("data_offsets must hold two numbers");
            }
            return new SafetensorsTensorInfo(name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"Safetensors {where}: bad entry for tensor '{name}': {e.Message}.", e);
        }
    }

    private static void Validate(List<SafetensorsTensorInfo> tensors, long dataLength, string where)
    {
        foreach (var info in tensors)
        {
            if (info.Shape.Any(d => d < 0))
            {
                throw new FormatException($"Safetensors {where}: tensor '{info.Name}' has a negative dimension.");
            }
            long expected;
            try
            {
                expected = checked(info.ElementCount * info.Dtype.ElementSize());
            }
            catch (OverflowException e)
            {
                throw new FormatException($"Safetensors {where}: tensor '{info.Name}' is too large.", e);
            }
            if (info.DataBegin < 0 || info.DataEnd < info.DataBegin || info.DataEnd > dataLength)
            {
                throw new FormatException(
                    $"Safetensors {where}: tensor '{info.Name}' has data_offsets [{info.DataBegin}, {info.DataEnd}] outside the {dataLength}-byte data section (truncated file?).");
            }
            if (info.ByteLength != expected)
            {
                throw new FormatException(
                    $"Safetensors {where}: tensor '{info.Name}' ({info.Dtype.ToHeaderName()} [{string.Join(", ", info.Shape)}]) needs {expected} bytes but its data_offsets span {info.ByteLength}.");
            }
        }
        SafetensorsTensorInfo? previous = null;
        foreach (var info in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.DataBegin))
        {
            if (previous is not null && info.DataBegin < previous.DataEnd)
            {
                throw new FormatException($"Safetensors {where}: the data of tensors '{previous.Name}' and '{info.Name}' overlap.");
            }
            previous = info;
        }
    }

    /// <summary>The header JSON as text (padding removed), for inspection and error messages.</summary>
    public static string JsonText(ReadOnlySpan<byte> headerBytes) => Encoding.UTF8.GetString(headerBytes[8..]).TrimEnd(' ');
}
