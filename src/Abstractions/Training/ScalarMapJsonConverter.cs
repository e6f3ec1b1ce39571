using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// JSON for a <c>key → text</c> map of option overrides (<see cref="RunConfig.Objective"/>, <see cref="RunConfig.Trainer"/>,
/// <see cref="RunConfig.TaskOptions"/>): reads numbers, booleans, strings and null as their text, so that
/// <c>{"objective": {"clipRatioHigh": 0.28}}</c> and <c>--set objective.clipRatioHigh=0.28</c> say the same; writes a value
/// that reads as a number, boolean or null as that JSON value, anything else as a string. Objects and arrays are refused.
/// </summary>
public sealed partial class ScalarMapJsonConverter : JsonConverter<Dictionary<string, string>>
{
    public override Dictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected an object of option names and values");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            reader.Read();
            result[key] = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Number => Encoding(reader),
                JsonTokenType.True => "true",
                JsonTokenType.False => "false",
                JsonTokenType.Null => "null",
                _ => throw new JsonException($"option '{key}' must be a number, true/false or a string, not an object or a list"),
            };
        }

        return result;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (key, text) in value)
        {
            writer.WritePropertyName(key);
            if (text is "true" or "false")
            {
                writer.WriteBooleanValue(text == "true");
            }
            else if (text == "null")
            {
                writer.WriteNullValue();
            }
            else if (JsonNumber().IsMatch(text))
            {
                writer.WriteRawValue(text);
            }
            else
            {
                writer.WriteStringValue(text);
            }
        }

        writer.WriteEndObject();
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
    private static partial Regex JsonNumber();

    private static string Encoding(Utf8JsonReader reader) =>
        System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray());
}
