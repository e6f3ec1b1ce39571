using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

[assembly: InternalsVisibleTo("AgentRl.Policy.Tests")]

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// Moves the raw bytes of contiguous CPU tensors to and from files without a managed copy. A span over native
/// memory is limited to 2 GiB, so larger tensors go through flat views in chunks.
/// </summary>
internal static class TensorBytes
{
    /// <summary>Bytes per span: 1 GiB by default; tests lower it to exercise the chunked path on small tensors.</summary>
    internal static long ChunkBytes { get; set; } = 1L << 30;

    /// <summary>Fills contiguous CPU tensor <paramref name="destination"/> with the bytes at <paramref name="fileOffset"/>.</summary>
    public static void ReadInto(SafeFileHandle file, long fileOffset, Tensor destination, string name)
    {
        ForEachChunk(destination, (span, offset) =>
        {
            var done = 0;
            while (done < span.Length)
            {
                var read = RandomAccess.Read(file, span[done..], fileOffset + offset + done);
                if (read == 0)
                {
                    throw new EndOfStreamException($"Safetensors file ended inside the data of tensor '{name}'.");
                }
                done += read;
            }
        });
    }

    /// <summary>Writes the bytes of contiguous CPU tensor <paramref name="source"/> to <paramref name="stream"/>.</summary>
    public static void WriteTo(Stream stream, Tensor source) =>
        ForEachChunk(source, (span, _) => stream.Write(span));

    private delegate void ChunkAction(Span<byte> span, long byteOffset);

    private static void ForEachChunk(Tensor tensor, ChunkAction action)
    {
        if (!EnsureLittleEndianHost() || tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
        {
            throw new InvalidOperationException("Raw tensor bytes need a contiguous CPU tensor.");
        }
        var elementSize = tensor.element_size();
        var total = tensor.numel() * elementSize;
        if (total == 0)
        {
            return;
        }
        if (total <= ChunkBytes)
        {
            action(tensor.bytes, 0);
            return;
        }
        var chunkElements = ChunkBytes / elementSize;
        using var flat = tensor.view(-1);                                  // [numel]
        for (long start = 0; start < flat.shape[0]; start += chunkElements)
        {
            var length = Math.Min(chunkElements, flat.shape[0] - start);
            using var part = flat.narrow(0, start, length);                // [length]
            action(part.bytes, start * elementSize);
        }
    }

    private static bool EnsureLittleEndianHost() =>
        BitConverter.IsLittleEndian ? true : throw new PlatformNotSupportedException("Safetensors I/O assumes a little-endian host.");
}
