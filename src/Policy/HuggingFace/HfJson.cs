using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentRl.Policy.Model;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// Reads and writes the JSON files of a Hugging Face checkpoint the way <c>transformers</c> does: nulls of
/// unmodelled-but-typed fields are left out, unknown fields ride along in extension data, and output is indented
/// by two spaces with keys sorted and a final newline (<c>json.dumps(..., indent=2, sort_keys=True) + "\n"</c>).
/// </summary>
public static class HfJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Hugging Face files write whole numbers where a double is expected ("rope_theta": 1000000) and vice versa.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static T Read<T>(string path)
    {
        try
        {
            return Parse<T>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    public static T Parse<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"Expected a JSON object for {typeof(T).Name}, found null.");

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> (through a temporary file, then a rename).</summary>
    public static void Write<T>(string path, T value)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Serialize(value), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Indented JSON with keys sorted at every level and a final newline.</summary>
    public static string Serialize<T>(T value)
    {
        var element = JsonSerializer.SerializeToElement(value, Options);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = Options.Encoder }))
        {
            WriteSorted(writer, element);
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static ModelConfig ReadModelConfig(string path) => Read<ModelConfig>(path);

    public static ModelConfig ParseModelConfig(string json) => Parse<ModelConfig>(json);

    public static void WriteModelConfig(string path, ModelConfig config) => Write(path, config);

    private static void WriteSorted(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteSorted(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteSorted(writer, item);
                }
                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
