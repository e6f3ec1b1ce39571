using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentRl.Policy.Chat;

/// <summary>
/// JSON text as chat templates print it. <see cref="Python"/> is Jinja's <c>tojson</c> in transformers
/// (<c>json.dumps(x, ensure_ascii=False)</c>: <c>", "</c> and <c>": "</c> separators, key order kept, non-ASCII
/// written as is); <see cref="Minified"/> is the same without the spaces.
/// </summary>
public static class JsonText
{
    public static string Python(JsonElement element)
    {
        var builder = new StringBuilder();
        Write(element, builder, ", ", ": ");
        return builder.ToString();
    }

    public static string Minified(JsonElement element)
    {
        var builder = new StringBuilder();
        Write(element, builder, ",", ":");
        return builder.ToString();
    }

    /// <summary>Reformats JSON text; text that is not JSON comes back unchanged.</summary>
    public static string Reformat(string json, bool minified)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return minified ? Minified(document.RootElement) : Python(document.RootElement);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    /// <summary>A JSON string literal with Python's escaping (<c>ensure_ascii=False</c>).</summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        WriteString(value, builder);
        return builder.ToString();
    }

    private static void Write(JsonElement element, StringBuilder builder, string itemSeparator, string keySeparator)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                builder.Append('{');
                var firstProperty = true;
                foreach (var property in element.EnumerateObject())
                {
                    if (!firstProperty)
                    {
                        builder.Append(itemSeparator);
                    }

                    firstProperty = false;
                    WriteString(property.Name, builder);
                    builder.Append(keySeparator);
                    Write(property.Value, builder, itemSeparator, keySeparator);
                }

                builder.Append('}');
                break;
            case JsonValueKind.Array:
                builder.Append('[');
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        builder.Append(itemSeparator);
                    }

                    firstItem = false;
                    Write(item, builder, itemSeparator, keySeparator);
                }

                builder.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(element.GetString()!, builder);
                break;
            default:
                builder.Append(element.GetRawText());
                break;
        }
    }

    private static void WriteString(string value, StringBuilder builder)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case < ' ': builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }

        builder.Append('"');
    }
}
