using System.Buffers.Binary;
using System.Text;
using AgentRl.Policy.HuggingFace;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.HuggingFace;

public sealed class SafetensorsTests
{
    private static byte[] ToBytes(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null, ScalarType? dtype = null)
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, tensors, metadata, dtype);
        return stream.ToArray();
    }

    private static byte[] RawBytes(Tensor tensor) => tensor.contiguous().bytes.ToArray();

    [Fact]
    public void Write_OneF32Tensor_MatchesHandWrittenSpecBytes()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1f, -2f });                           // [2]

        var bytes = ToBytes([new("a", a)]);

        // 8-byte little-endian header length (54 bytes of JSON padded with 2 spaces to 56), JSON, padding, data.
        byte[] expected =
        [
            56, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"),
            (byte)' ', (byte)' ',
            0x00, 0x00, 0x80, 0x3F,                                         // 1.0f
            0x00, 0x00, 0x00, 0xC0,                                         // -2.0f
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Write_I32ZerosTwoByTwo_MatchesHandWrittenSpecBytes()
    {
        using var scope = NewDisposeScope();
        var bytes = ToBytes([new("test", zeros([2, 2], ScalarType.Int32))]);

        // 60 bytes of JSON padded with 4 spaces to 64 (0x40), then 16 zero bytes.
        byte[] expected =
        [
            0x40, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}    "),
            .. new byte[16],
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Write_WithMetadata_PutsMetadataFirstAndPadsToEightBytes()
    {
        using var scope = NewDisposeScope();
        var bytes = ToBytes([new("a", tensor(new float[] { 1f, -2f }))], new Dictionary<string, string> { ["format"] = "pt" });

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(88UL, headerLength);
        Assert.Equal(
            "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ",
            Encoding.ASCII.GetString(bytes, 8, 88));
        Assert.Equal(8 + 88 + 8, bytes.Length);
    }

    [Fact]
    public void Read_HandWrittenFile_GivesValuesShapeAndMetadata()
    {
        using var dir = new TempDirectory();
        var json = "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]},"
            + "\"w\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}";
        byte[] file =
        [
            .. BitConverter.GetBytes((ulong)json.Length),
            .. Encoding.ASCII.GetBytes(json),
            0x80, 0x3F, 0x40, 0xC0,                                         // bf16 1.0, -3.0
            7, 0, 0, 0, 0, 0, 0, 0,                                         // i64 7
        ];
        File.WriteAllBytes(dir.File("x.safetensors"), file);

        using var scope = NewDisposeScope();
        using var st = SafetensorsFile.Open(dir.File("x.safetensors"));
        var w = st.Read("w");
        var b = st.Read("b");
        var w32 = st.Read("w", ScalarType.Float32);

        Assert.Equal("pt", st.Header.Metadata["format"]);
        Assert.Equal(ScalarType.BFloat16, w.dtype);
        Assert.Equal(new long[] { 1, 2 }, w.shape);
        Assert.Equal(new float[] { 1f, -3f }, w32.data<float>().ToArray());
        Assert.Equal(ScalarType.Int64, b.dtype);
        Assert.Empty(b.shape);
        Assert.Equal(7L, b.item<long>());
    }

    public static TheoryData<string> BitPatternDtypes => ["F32", "F16", "BF16"];

    [Theory]
    [MemberData(nameof(BitPatternDtypes))]
    public void RoundTrip_SpecialBitPatterns_AreBitExact(string dtypeName)
    {
        var dtype = SafetensorsDtypes.Parse(dtypeName);
        var type = dtype.ToScalarType()!.Value;
        // Every 16-bit pattern for half types (all NaN payloads, ±inf, ±0, denormals); for f32 the edge
        // patterns plus a pseudo-random sweep.
        byte[] raw;
        if (dtype.ElementSize() == 2)
        {
            raw = new byte[65536 * 2];
            for (var i = 0; i < 65536; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(2 * i), (ushort)i);
            }
        }
        else
        {
            uint[] special = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF];
            var random = new Random(7);
            var words = special.Concat(Enumerable.Range(0, 4096).Select(_ => (uint)random.NextInt64(0, 1L << 32))).ToArray();
            raw = new byte[words.Length * 4];
            for (var i = 0; i < words.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(4 * i), words[i]);
            }
        }
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var elements = raw.Length / dtype.ElementSize();
        var original = empty([elements], type);                             // [n]
        original.bytes = raw;

        SafetensorsWriter.Write(dir.File("t.safetensors"), [new("t", original)]);
        using var st = SafetensorsFile.Open(dir.File("t.safetensors"));
        var loaded = st.Read("t");

        Assert.Equal(type, loaded.dtype);
        Assert.Equal(original.shape, loaded.shape);
        Assert.Equal(raw, RawBytes(loaded));
        // The file's data section holds exactly those bytes, little-endian, after the header.
        var file = File.ReadAllBytes(dir.File("t.safetensors"));
        Assert.Equal(raw, file[(int)st.Header.DataOffset..]);
    }

    [Fact]
    public void RoundTrip_IntegerAndBoolDtypes_KeepValuesAndTypes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["i64"] = tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }),
            ["i32"] = tensor(new int[] { int.MinValue, 5 }),
            ["u8"] = tensor(new byte[] { 0, 255, 3 }),
            ["i8"] = tensor(new sbyte[] { -128, 127 }),
            ["bool"] = tensor(new bool[] { true, false, true }),
            ["f64"] = tensor(new double[] { Math.PI, double.Epsilon }),
            ["empty"] = zeros([0, 3]),
        };

        SafetensorsWriter.Write(dir.File("m.safetensors"), tensors);
        var loaded = SafetensorsFile.Load(dir.File("m.safetensors"));

        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(expected.dtype, loaded[name].dtype);
            Assert.Equal(expected.shape, loaded[name].shape);
            Assert.Equal(RawBytes(expected), RawBytes(loaded[name]));
        }
    }

    [Fact]
    public void Write_MixedDtypes_OrdersByElementSizeThenNameWithAlignedOffsets()
    {
        using var scope = NewDisposeScope();
        var header = SafetensorsWriter.Layout(
        [
            new("z.half", zeros([3], ScalarType.Float16)),
            new("b.flag", zeros([1], ScalarType.Bool)),
            new("a.float", zeros([2], ScalarType.Float32)),
            new("c.long", zeros([1], ScalarType.Int64)),
            new("d.double", zeros([1], ScalarType.Float64)),
            new("y.bf16", zeros([1], ScalarType.BFloat16)),
            new("x.i8", zeros([1], ScalarType.Int8)),
        ]);

        // The format's dtype order, descending: ... F64 < I64, F16 < BF16, U8 < I8, BOOL first of all.
        Assert.Equal(["c.long", "d.double", "a.float", "y.bf16", "z.half", "x.i8", "b.flag"], header.Select(t => t.Name));
        Assert.Equal([0L, 8, 16, 24, 26, 32, 33], header.Select(t => t.DataBegin));
        Assert.All(header, t => Assert.Equal(0, t.DataBegin % t.Dtype.ElementSize()));
    }

    [Fact]
    public void Write_SameTensorsInAnyOrder_GivesIdenticalBytes()
    {
        using var scope = NewDisposeScope();
        var a = randn(3, 4);
        var b = randn(5).to(ScalarType.BFloat16);

        Assert.Equal(ToBytes([new("a", a), new("b", b)]), ToBytes([new("b", b), new("a", a)]));
    }

    [Fact]
    public void Write_WithTargetDtype_ConvertsFloatsOnly()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var w = tensor(new float[] { 1.5f, -0.25f });
        var ids = tensor(new long[] { 3 });

        SafetensorsWriter.Write(dir.File("m.safetensors"), [new("w", w), new("ids", ids)], dtype: ScalarType.BFloat16);
        var header = SafetensorsHeader.Read(dir.File("m.safetensors"));

        Assert.Equal(SafetensorsDtype.BF16, header["w"].Dtype);
        Assert.Equal(SafetensorsDtype.I64, header["ids"].Dtype);
    }

    [Fact]
    public void ReadHeader_TruncatedFile_FailsNamingTheTensor()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(dir.File("m.safetensors"), [new("layer.weight", ones(4, 4))]);
        var bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        File.WriteAllBytes(dir.File("cut.safetensors"), bytes[..^5]);

        var error = Assert.Throws<FormatException>(() => SafetensorsHeader.Read(dir.File("cut.safetensors")));
        Assert.Contains("layer.weight", error.Message);
    }

    [Fact]
    public void ReadHeader_OversizedHeaderLength_FailsCleanly()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("bad.safetensors"), [.. BitConverter.GetBytes(1UL << 40), .. "{}"u8]);

        Assert.Throws<FormatException>(() => SafetensorsHeader.Read(dir.File("bad.safetensors")));
    }

    [Fact]
    public void ReadHeader_WrongByteCountForShape_FailsNamingTheTensor()
    {
        var json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}"u8.ToArray();

        var error = Assert.Throws<FormatException>(() => SafetensorsHeader.Parse(json, dataLength: 8));
        Assert.Contains("'w'", error.Message);
        Assert.Contains("12 bytes", error.Message);
    }

    [Fact]
    public void ReadHeader_OfWrittenFile_ListsNamesDtypesAndShapes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(dir.File("m.safetensors"), [new("x", zeros([2, 3], ScalarType.Float16)), new("y", zeros([7], ScalarType.Int32))]);

        var header = SafetensorsHeader.Read(dir.File("m.safetensors"));

        Assert.Equal(["x F16 [2, 3]", "y I32 [7]"], header.Tensors.Select(t => t.ToString()).Order());
        Assert.Equal(12 + 28, header.DataLength);
    }

    [Fact]
    public void RoundTrip_TensorLargerThanOneChunk_IsBitExactAcrossChunkBoundaries()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var original = randn(37, 5).to(ScalarType.BFloat16);                // [37, 5], 370 bytes
        var previous = TensorBytes.ChunkBytes;
        TensorBytes.ChunkBytes = 24;                                         // 12 bf16 elements per span: 16 chunks, the last partial
        try
        {
            SafetensorsWriter.Write(dir.File("c.safetensors"), [new("c", original)]);
            using var st = SafetensorsFile.Open(dir.File("c.safetensors"));
            var loaded = st.Read("c");
            TensorBytes.ChunkBytes = previous;

            Assert.Equal(RawBytes(original), RawBytes(loaded));
            Assert.Equal(RawBytes(original), File.ReadAllBytes(dir.File("c.safetensors"))[(int)st.Header.DataOffset..]);
        }
        finally
        {
            TensorBytes.ChunkBytes = previous;
        }
    }
}
