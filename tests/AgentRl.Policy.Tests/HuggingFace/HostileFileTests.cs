using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AgentRl.Policy.HuggingFace;
using CsCheck;

namespace AgentRl.Policy.Tests.HuggingFace;

/// <summary>
/// Hostile model files as properties (CsCheck): a safetensors file whose 8-byte header length is huge, negative or past
/// the end, whose header JSON is truncated or has bad, negative or overlapping offsets, and a config.json of random
/// JSON, each give a <see cref="FormatException"/> (or a valid result) — never another exception or an allocation the
/// size of the claimed length.
/// </summary>
public sealed class HostileFileTests
{
    private static readonly Gen<string> HeaderFragments = Gen.OneOf(
        "{", "}", "[", "]", ",", ":", "\"", "\"w\"", "\"v\"", "\"dtype\"", "\"F32\"", "\"BF16\"", "\"XX\"", "\"shape\"", "[2,2]", "[-1]",
        "[4294967296,4294967296]", "\"data_offsets\"", "[0,16]", "[16,0]", "[0,-8]", "[8,24]", "[0,9223372036854775807]",
        "\"__metadata__\"", "{\"a\":1}", "null", "1e999", " ");

    private static readonly Gen<string> Headers = Gen.OneOf(HeaderFragments.Array[0, 40].Select(string.Concat), Gen.String[0, 200]);

    [Fact]
    public void SafetensorsHeader_AnyJson_IsAHeaderOrAFormatException()
    {
        Gen.Select(Headers, Gen.Long[-16, 1 << 20], (json, length) => (json, length)).Sample((json, dataLength) =>
        {
            try
            {
                var header = SafetensorsHeader.Parse(Encoding.UTF8.GetBytes(json), dataLength);
                Assert.NotNull(header);
            }
            catch (FormatException)
            {
            }
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void SafetensorsFile_AnyHeaderLength_IsAHeaderOrAFormatException()
    {
        Gen.Select(Gen.Long, Headers, Gen.Int[0, 64], (length, json, padding) => (length, json, padding)).Sample((length, json, padding) =>
        {
            var body = Encoding.UTF8.GetBytes(json);
            var bytes = new byte[8 + body.Length + padding];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, length);
            body.CopyTo(bytes, 8);
            try
            {
                using var stream = new MemoryStream(bytes);
                Assert.NotNull(SafetensorsHeader.Read(stream, "fuzz"));
            }
            catch (FormatException)
            {
            }
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void ModelConfig_AnyJson_IsAConfigOrAJsonError()
    {
        var fragments = Gen.OneOf("{", "}", "[", "]", ",", ":", "\"hidden_size\"", "\"num_hidden_layers\"", "\"vocab_size\"", "-1", "0", "1e999", "3.5",
            "\"x\"", "null", "true", "\"rope_theta\"", "\"NaN\"", "\"Infinity\"", "// c\n", " ");
        Gen.OneOf(fragments.Array[0, 30].Select(string.Concat), Gen.String[0, 100]).Sample(json =>
        {
            try
            {
                Assert.NotNull(HfJson.ParseModelConfig(json));
            }
            catch (JsonException)
            {
            }
        }, iter: 3000, threads: 1);
    }

    /// <summary>What the afl-fuzz run found (bench/fuzz.sh safetensors): a tensor name with a byte that is not UTF-8.</summary>
    [Fact]
    public void SafetensorsHeader_InvalidUtf8InAName_IsAFormatException()
    {
        var json = Encoding.UTF8.GetBytes("{\"\u0001\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        json[2] = 0x81;   // the name's one byte: a continuation byte with no lead

        var error = Assert.Throws<FormatException>(() => SafetensorsHeader.Parse(json, 4));
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }
}
