using static TorchSharp.torch;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// The weights of a checkpoint, from one <c>model.safetensors</c> or from the shards an index names, seen as one
/// set of named tensors. Headers are read on open; tensor data only when a tensor is read. Reads are positional,
/// so several threads may read different tensors at once.
/// </summary>
public sealed class SafetensorsWeights : IDisposable
{
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _fileOf;

    private SafetensorsWeights(List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf, SafetensorsIndex? index)
    {
        _files = files;
        _fileOf = fileOf;
        Index = index;
        Names = [.. fileOf.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The index of a sharded checkpoint; null for a single file.</summary>
    public SafetensorsIndex? Index { get; }

    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Tensor names, sorted.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The <c>__metadata__</c> of the first file (shards of one save share it).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _files[0].Header.Metadata;

    /// <summary>Bytes of tensor data over all files.</summary>
    public long TotalBytes => _fileOf.Select(kv => kv.Value.Header[kv.Key].ByteLength).Sum();

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    public SafetensorsTensorInfo Info(string name) => FileOf(name).Header[name];

    /// <summary>Reads one tensor (stored dtype, bit-exact, unless <paramref name="dtype"/> converts it). The caller owns the result.</summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null) => FileOf(name).Read(name, dtype, device);

    /// <summary>Fills an existing tensor of the same shape; see <see cref="SafetensorsFile.ReadInto"/>.</summary>
    public void ReadInto(string name, Tensor destination) => FileOf(name).ReadInto(name, destination);

    /// <summary>Reads every tensor. Holds the whole model in memory: prefer <see cref="Read"/> per tensor for large models.</summary>
    public Dictionary<string, Tensor> ReadAll(ScalarType? dtype = null, Device? device = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in Names)
            {
                result.Add(name, Read(name, dtype, device));
            }
            return result;
        }
        catch
        {
            foreach (var tensor in result.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
    }

    /// <summary>Opens the weights of a checkpoint directory: the index and its shards when an index exists, else <c>model.safetensors</c>.</summary>
    public static SafetensorsWeights Open(string directory)
    {
        var indexPath = Path.Combine(directory, SafetensorsIndex.DefaultFileName);
        if (File.Exists(indexPath))
        {
            return OpenIndex(indexPath);
        }
        var single = Path.Combine(directory, SafetensorsWriter.SingleFileName);
        if (File.Exists(single))
        {
            return OpenFile(single);
        }
        throw new FileNotFoundException(
            $"No weights in {directory}: expected {SafetensorsWriter.SingleFileName} or {SafetensorsIndex.DefaultFileName}.", single);
    }

    public static SafetensorsWeights OpenFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        var fileOf = file.Header.Names.ToDictionary(n => n, _ => file, StringComparer.Ordinal);
        return new SafetensorsWeights([file], fileOf, index: null);
    }

    /// <summary>Opens a sharded checkpoint from its index; every tensor the weight map names must be in its shard.</summary>
    public static SafetensorsWeights OpenIndex(string indexPath)
    {
        var index = SafetensorsIndex.Read(indexPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var files = new List<SafetensorsFile>();
        try
        {
            var byFileName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var fileName in index.Files)
            {
                var path = Path.Combine(directory, fileName);
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"{indexPath} names shard {fileName}, which is missing.", path);
                }
                var file = SafetensorsFile.Open(path);
                files.Add(file);
                byFileName[fileName] = file;
            }
            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (name, fileName) in index.WeightMap)
            {
                var file = byFileName[fileName];
                if (!file.Header.Contains(name))
                {
                    throw new FormatException($"{indexPath} places tensor '{name}' in {fileName}, whose header does not list it.");
                }
                fileOf[name] = file;
            }
            return new SafetensorsWeights(files, fileOf, index);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
            throw;
        }
    }

    private SafetensorsFile FileOf(string name) =>
        _fileOf.TryGetValue(name, out var file) ? file : throw new KeyNotFoundException($"No tensor named '{name}' in the checkpoint weights.");

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }
}
