using static TorchSharp.torch;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// The element types of the safetensors format, named as in its header (<c>"F32"</c>, <c>"BF16"</c>, …), declared in
/// the format's own order (the writer sorts by it).
/// </summary>
public enum SafetensorsDtype
{
    Bool,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

/// <summary>Names, sizes and TorchSharp equivalents of <see cref="SafetensorsDtype"/>.</summary>
public static class SafetensorsDtypes
{
    /// <summary>The header spelling of a dtype, e.g. <c>"BF16"</c>, <c>"BOOL"</c>.</summary>
    public static string ToHeaderName(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool => "BOOL",
        _ => dtype.ToString(),
    };

    /// <summary>Parses a header dtype name; throws <see cref="FormatException"/> for names the format does not define.</summary>
    public static SafetensorsDtype Parse(string name) => name switch
    {
        "BOOL" => SafetensorsDtype.Bool,
        "U8" => SafetensorsDtype.U8,
        "I8" => SafetensorsDtype.I8,
        "F8_E5M2" => SafetensorsDtype.F8_E5M2,
        "F8_E4M3" => SafetensorsDtype.F8_E4M3,
        "I16" => SafetensorsDtype.I16,
        "U16" => SafetensorsDtype.U16,
        "F16" => SafetensorsDtype.F16,
        "BF16" => SafetensorsDtype.BF16,
        "I32" => SafetensorsDtype.I32,
        "U32" => SafetensorsDtype.U32,
        "F32" => SafetensorsDtype.F32,
        "F64" => SafetensorsDtype.F64,
        "I64" => SafetensorsDtype.I64,
        "U64" => SafetensorsDtype.U64,
        _ => throw new FormatException($"Unknown safetensors dtype '{name}'."),
    };

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool or SafetensorsDtype.U8 or SafetensorsDtype.I8
            or SafetensorsDtype.F8_E5M2 or SafetensorsDtype.F8_E4M3 => 1,
        SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.U32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.F64 or SafetensorsDtype.I64 or SafetensorsDtype.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The TorchSharp scalar type holding this dtype bit for bit, or null when TorchSharp has none (unsigned 16/32/64-bit, fp8).</summary>
    public static ScalarType? ToScalarType(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool => ScalarType.Bool,
        SafetensorsDtype.U8 => ScalarType.Byte,
        SafetensorsDtype.I8 => ScalarType.Int8,
        SafetensorsDtype.I16 => ScalarType.Int16,
        SafetensorsDtype.F16 => ScalarType.Float16,
        SafetensorsDtype.BF16 => ScalarType.BFloat16,
        SafetensorsDtype.I32 => ScalarType.Int32,
        SafetensorsDtype.F32 => ScalarType.Float32,
        SafetensorsDtype.F64 => ScalarType.Float64,
        SafetensorsDtype.I64 => ScalarType.Int64,
        _ => null,
    };

    /// <summary>The safetensors dtype for a TorchSharp scalar type; throws for types the format cannot hold (complex, quantized).</summary>
    public static SafetensorsDtype FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Bool => SafetensorsDtype.Bool,
        ScalarType.Byte => SafetensorsDtype.U8,
        ScalarType.Int8 => SafetensorsDtype.I8,
        ScalarType.Int16 => SafetensorsDtype.I16,
        ScalarType.Float16 => SafetensorsDtype.F16,
        ScalarType.BFloat16 => SafetensorsDtype.BF16,
        ScalarType.Int32 => SafetensorsDtype.I32,
        ScalarType.Float32 => SafetensorsDtype.F32,
        ScalarType.Float64 => SafetensorsDtype.F64,
        ScalarType.Int64 => SafetensorsDtype.I64,
        _ => throw new NotSupportedException($"TorchSharp dtype {type} has no safetensors equivalent."),
    };

    /// <summary>The Hugging Face <c>torch_dtype</c> spelling of a scalar type (<c>"bfloat16"</c>, <c>"float32"</c>, …).</summary>
    public static string ToTorchDtypeName(ScalarType type) => type switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        _ => type.ToString().ToLowerInvariant(),
    };
}
