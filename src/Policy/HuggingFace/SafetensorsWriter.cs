using System.Globalization;
using static TorchSharp.torch;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// Writes safetensors files. The layout is deterministic and the reference writer's: tensors sorted by dtype in
/// descending order of the format's dtype list (which runs from narrow to wide, so every tensor's data is aligned
/// to its element size) and then by name; header JSON compact with <c>__metadata__</c> first, padded with spaces
/// to a multiple of 8 bytes.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The name of an unsharded weights file.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>Hugging Face's default shard size, "5GB".</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> (through a temporary file, then a rename).
    /// Tensors may live on any device and need not be contiguous; one at a time is copied to the CPU while writing.
    /// With <paramref name="dtype"/>, floating-point tensors are stored converted to it; integer and bool tensors keep theirs.
    /// </summary>
    public static void Write(
        string path,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null,
        ScalarType? dtype = null)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                Write(stream, tensors, metadata, dtype);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Writes a whole safetensors file to <paramref name="stream"/>; see <see cref="Write(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?, ScalarType?)"/>.</summary>
    public static void Write(
        Stream stream,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null,
        ScalarType? dtype = null)
    {
        var (layout, byName) = Plan(tensors, dtype);
        stream.Write(SafetensorsHeader.Serialize(layout, metadata));
        foreach (var info in layout)
        {
            using var scope = NewDisposeScope();
            var source = byName[info.Name];
            var stored = info.Dtype.ToScalarType()!.Value;
            var cpu = source.detach().to(stored, CPU).contiguous();        // [shape] on the CPU, stored dtype
            TensorBytes.WriteTo(stream, cpu);
        }
        stream.Flush();
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> into <paramref name="directory"/> as Hugging Face does: one
    /// <c>model.safetensors</c> when the data fits in <paramref name="maxShardBytes"/>, otherwise shards
    /// <c>model-00001-of-0000N.safetensors</c> filled in the given order plus <c>model.safetensors.index.json</c>.
    /// Weight files of an earlier save in that directory that this save does not overwrite are deleted.
    /// </summary>
    /// <returns>The index when sharded, otherwise null.</returns>
    public static SafetensorsIndex? WriteSharded(
        string directory,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        long maxShardBytes = DefaultMaxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null,
        ScalarType? dtype = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        Directory.CreateDirectory(directory);
        var all = tensors.ToList();
        var (layout, _) = Plan(all, dtype);
        var sizes = layout.ToDictionary(t => t.Name, t => t.ByteLength, StringComparer.Ordinal);
        var totalSize = sizes.Values.Sum();

        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        long current = 0;
        foreach (var entry in all)
        {
            var size = sizes[entry.Key];
            if (shards.Count == 0 || (current + size > maxShardBytes && shards[^1].Count > 0))
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(entry);
            current += size;
        }

        if (shards.Count <= 1)
        {
            Write(Path.Combine(directory, SingleFileName), all, metadata, dtype);
            RemoveStaleWeights(directory, keep: [SingleFileName]);
            return null;
        }

        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        for (var i = 0; i < shards.Count; i++)
        {
            var fileName = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors");
            Write(Path.Combine(directory, fileName), shards[i], metadata, dtype);
            files.Add(fileName);
            foreach (var (name, _) in shards[i])
            {
                weightMap[name] = fileName;
            }
        }
        var index = SafetensorsIndex.Create(weightMap, totalSize);
        index.Write(Path.Combine(directory, SafetensorsIndex.DefaultFileName));
        RemoveStaleWeights(directory, keep: [.. files, SafetensorsIndex.DefaultFileName]);
        return index;
    }

    /// <summary>The header entries, in data order, that writing these tensors produces.</summary>
    public static IReadOnlyList<SafetensorsTensorInfo> Layout(IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType? dtype = null) =>
        Plan(tensors, dtype).Layout;

    private static (List<SafetensorsTensorInfo> Layout, Dictionary<string, Tensor> ByName) Plan(
        IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType? dtype)
    {
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name == SafetensorsHeader.MetadataKey || string.IsNullOrEmpty(name))
            {
                throw new ArgumentException($"'{name}' cannot name a tensor in a safetensors file.", nameof(tensors));
            }
            if (!byName.TryAdd(name, tensor))
            {
                throw new ArgumentException($"Tensor '{name}' is given twice.", nameof(tensors));
            }
        }
        var entries = byName
            .Select(kv => (Name: kv.Key, Dtype: SafetensorsDtypes.FromScalarType(StoredType(kv.Value.dtype, dtype)), Shape: kv.Value.shape))
            .OrderByDescending(e => (int)e.Dtype)                           // SafetensorsDtype follows the format's order
            .ThenBy(e => e.Name, StringComparer.Ordinal);
        var layout = new List<SafetensorsTensorInfo>();
        long offset = 0;
        foreach (var (name, storedDtype, shape) in entries)
        {
            var length = shape.Aggregate(1L, (n, d) => checked(n * d)) * storedDtype.ElementSize();
            layout.Add(new SafetensorsTensorInfo(name, storedDtype, shape, offset, offset + length));
            offset += length;
        }
        return (layout, byName);
    }

    private static ScalarType StoredType(ScalarType actual, ScalarType? requested) =>
        requested is { } target && is_floating_point(actual) ? target : actual;

    private static void RemoveStaleWeights(string directory, IReadOnlyCollection<string> keep)
    {
        var candidates = Directory.EnumerateFiles(directory, "model-*-of-*.safetensors")
            .Append(Path.Combine(directory, SingleFileName))
            .Append(Path.Combine(directory, SafetensorsIndex.DefaultFileName));
        foreach (var path in candidates)
        {
            if (!keep.Contains(Path.GetFileName(path)) && File.Exists(path))
            {
                File.Delete(path);
            }
        }
    }
}
