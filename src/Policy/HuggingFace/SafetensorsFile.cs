using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// An open safetensors file: the header is parsed once, and each tensor is read on demand straight from the file
/// into the memory of a new tensor (no intermediate managed buffer, no second copy of the file).
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    private SafetensorsFile(string path, SafeFileHandle handle, SafetensorsHeader header)
    {
        Path = path;
        _handle = handle;
        Header = header;
    }

    public string Path { get; }

    public SafetensorsHeader Header { get; }

    public static SafetensorsFile Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            var header = SafetensorsHeader.Read(handle, path);
            return new SafetensorsFile(path, handle, header);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads all tensors of a file at once. Prefer <see cref="Open"/> and <see cref="Read"/> one at a time for large files.</summary>
    public static Dictionary<string, Tensor> Load(string path, ScalarType? dtype = null, Device? device = null)
    {
        using var file = Open(path);
        return file.ReadAll(dtype, device);
    }

    /// <summary>
    /// Reads one tensor. It is read in its stored dtype (bit-exact), then converted to <paramref name="dtype"/> and
    /// moved to <paramref name="device"/> when those are given. The caller owns the result.
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        var info = Header[name];
        var stored = info.Dtype.ToScalarType()
            ?? throw new NotSupportedException($"Tensor '{name}' in {Path} is {info.Dtype.ToHeaderName()}, which TorchSharp cannot hold.");
        var tensor = empty(info.ShapeArray, stored, CPU);                 // [shape] in the stored dtype
        try
        {
            TensorBytes.ReadInto(_handle, Header.DataOffset + info.DataBegin, tensor, name);
            return Convert(tensor, dtype, device);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fills an existing tensor of the same shape (any dtype, any device) with a stored tensor. A contiguous CPU
    /// destination of the stored dtype receives the bytes straight from the file, with no temporary tensor;
    /// otherwise the tensor is read and copied over with conversion. Autograd does not see the write.
    /// </summary>
    public void ReadInto(string name, Tensor destination)
    {
        var info = Header[name];
        if (!info.Shape.SequenceEqual(destination.shape))
        {
            throw new ArgumentException(
                $"Tensor '{name}' in {Path} has shape [{string.Join(", ", info.Shape)}], the destination [{string.Join(", ", destination.shape)}].",
                nameof(destination));
        }
        using var noGrad = no_grad();
        if (destination.device_type == TorchSharp.DeviceType.CPU && destination.is_contiguous() && info.Dtype.ToScalarType() == destination.dtype)
        {
            using var view = destination.detach();                          // [shape], same storage, outside autograd
            TensorBytes.ReadInto(_handle, Header.DataOffset + info.DataBegin, view, name);
            return;
        }
        using var value = Read(name);                                      // [shape] stored dtype, on the CPU
        destination.copy_(value);
    }

    /// <summary>Reads every tensor, keyed by name, in header order.</summary>
    public Dictionary<string, Tensor> ReadAll(ScalarType? dtype = null, Device? device = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in Header.Tensors)
            {
                result.Add(info.Name, Read(info.Name, dtype, device));
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

    /// <summary>Converts and moves <paramref name="tensor"/>, disposing the input when a new tensor results.</summary>
    internal static Tensor Convert(Tensor tensor, ScalarType? dtype, Device? device)
    {
        var result = tensor;
        if (dtype is { } type && type != result.dtype)
        {
            var converted = result.to(type);
            if (!ReferenceEquals(converted, result))
            {
                result.Dispose();
            }
            result = converted;
        }
        if (device is not null)
        {
            var moved = result.to(device);
            if (!ReferenceEquals(moved, result))
            {
                result.Dispose();
            }
            result = moved;
        }
        return result;
    }

    public void Dispose() => _handle.Dispose();
}
