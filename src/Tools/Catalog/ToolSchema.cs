using System.Text.Json;
using System.Text.Json.Nodes;
using AgentRl.Abstractions.Chat;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Catalog;

/// <summary>
/// Builds a <see cref="ToolSpec"/> from Semantic Kernel function metadata: the description from
/// <see cref="KernelFunctionMetadata.Description"/> (not <c>function.JsonSchema</c>, which files it under
/// <c>"condition"</c>) and an object schema whose properties are the parameters' own schemas, each carrying its
/// <c>[Description]</c>, with the required ones listed. Never written by hand.
/// </summary>
public static class ToolSchema
{
    public static ToolSpec ToSpec(string toolName, KernelFunctionMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var parameter in metadata.Parameters)
        {
            var schema = parameter.Schema is { } s
                ? JsonNode.Parse(s.RootElement.GetRawText()) as JsonObject ?? []
                : [];
            if (!schema.ContainsKey("type") && parameter.ParameterType == typeof(string))
            {
                schema["type"] = "string";
            }

            if (!schema.ContainsKey("description") && !string.IsNullOrEmpty(parameter.Description))
            {
                schema["description"] = parameter.Description;
            }

            if (!parameter.IsRequired && parameter.DefaultValue is { } defaultValue)
            {
                // Semantic Kernel keeps defaults as text ("3"): give the schema the parameter's own type (3).
                schema["default"] = TypedDefault(defaultValue, parameter.ParameterType);
            }

            properties[parameter.Name] = schema;
            if (parameter.IsRequired)
            {
                required.Add(parameter.Name);
            }
        }

        var root = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = required,
            ["additionalProperties"] = false,
        };
        return new ToolSpec(toolName, metadata.Description ?? string.Empty, root.ToJsonString());
    }

    private static JsonNode? TypedDefault(object value, Type? parameterType)
    {
        var type = parameterType is null ? null : Nullable.GetUnderlyingType(parameterType) ?? parameterType;
        if (value is string text && type is not null && type != typeof(string) && !type.IsEnum)
        {
            try
            {
                var typed = JsonSerializer.Deserialize(text, type, ToolCatalog.JsonOptions);
                return JsonSerializer.SerializeToNode(typed, type, ToolCatalog.JsonOptions);
            }
            catch (JsonException)
            {
                // Not JSON-shaped (e.g. a culture-formatted value): keep the text.
            }
        }

        return JsonSerializer.SerializeToNode(value, value.GetType(), ToolCatalog.JsonOptions);
    }
}
