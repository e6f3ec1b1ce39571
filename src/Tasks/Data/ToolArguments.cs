using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentRl.Tasks.Data;

/// <summary>Writes tool-call arguments as compact JSON without HTML escaping (so '+', '&lt;', '\'' stay readable for the model).</summary>
public static class ToolArguments
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Json(params (string Name, object Value)[] arguments)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                switch (value)
                {
                    case string s:
                        writer.WriteString(name, s);
                        break;
                    case int n:
                        writer.WriteNumber(name, n);
                        break;
                    case long n:
                        writer.WriteNumber(name, n);
                        break;
                    default:
                        throw new ArgumentException($"Unsupported argument type {value.GetType().Name} for '{name}'.", nameof(arguments));
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
