using System.Text.Json;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Catalog;

/// <summary>
/// Binds a model's argument JSON to a function's declared parameters: each value is deserialized on its own to the
/// parameter's type with <see cref="ToolCatalog.JsonOptions"/> (web defaults, enums by name), so that a wrong type
/// is reported for that parameter. The arguments may be an object or a JSON string holding an object (some models
/// double-encode); empty text means no arguments. Undeclared arguments are rejected, so typos do not pass silently.
/// </summary>
public static class ArgumentBinder
{
    /// <summary>A binding failure: <see cref="ToolErrorKinds.BadJson"/> or <see cref="ToolErrorKinds.BadArguments"/>.</summary>
    public readonly record struct BindError(string Kind, string Message);

    public static bool TryBind(
        KernelFunctionMetadata metadata, string? argumentsJson, out KernelArguments? arguments, out BindError? error)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        arguments = null;
        error = null;
        if (!TryParseObject(argumentsJson, out var root, out var jsonError))
        {
            error = new BindError(ToolErrorKinds.BadJson, jsonError!);
            return false;
        }

        // Names match case-insensitively (as the web JSON defaults do for objects) and bind to the declared name.
        var parameters = metadata.Parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var bound = new KernelArguments();
        foreach (var property in root.EnumerateObject())
        {
            if (!parameters.TryGetValue(property.Name, out var parameter))
            {
                error = new BindError(
                    ToolErrorKinds.BadArguments,
                    $"unknown argument '{property.Name}'; expected: {Describe(metadata.Parameters)}");
                return false;
            }

            if (bound.ContainsName(parameter.Name))
            {
                error = new BindError(ToolErrorKinds.BadArguments, $"argument '{parameter.Name}' is given twice");
                return false;
            }

            var type = parameter.ParameterType ?? typeof(string);
            object? value;
            try
            {
                // A number or boolean where text is expected ("expression": 12) is taken as its JSON text.
                value = type == typeof(string) && property.Value.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
                    ? property.Value.GetRawText()
                    : property.Value.Deserialize(type, ToolCatalog.JsonOptions);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or FormatException or InvalidOperationException)
            {
                error = new BindError(
                    ToolErrorKinds.BadArguments,
                    $"argument '{property.Name}' must be {TypeName(type)}, got {Shorten(property.Value.GetRawText())}");
                return false;
            }

            if (value is null && parameter.IsRequired)
            {
                error = new BindError(ToolErrorKinds.BadArguments, $"argument '{property.Name}' must not be null");
                return false;
            }

            bound[parameter.Name] = value;
        }

        var missing = metadata.Parameters.Where(p => p.IsRequired && !bound.ContainsName(p.Name)).Select(p => p.Name).ToList();
        if (missing.Count > 0)
        {
            error = new BindError(
                ToolErrorKinds.BadArguments,
                $"missing required argument{(missing.Count > 1 ? "s" : string.Empty)} {string.Join(", ", missing.Select(m => $"'{m}'"))}; " +
                $"expected: {Describe(metadata.Parameters)}");
            return false;
        }

        arguments = bound;
        return true;
    }

    private static bool TryParseObject(string? json, out JsonElement root, out string? error)
    {
        root = default;
        error = null;
        if (string.IsNullOrWhiteSpace(json))
        {
            root = JsonDocument.Parse("{}").RootElement;
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            error = $"the arguments are not valid JSON ({ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}): {Shorten(json)}";
            return false;
        }

        if (root.ValueKind == JsonValueKind.String && root.GetString() is { } inner && inner.TrimStart().StartsWith('{'))
        {
            return TryParseObject(inner, out root, out error);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            error = $"the arguments must be a JSON object, got {root.ValueKind.ToString().ToLowerInvariant()}: {Shorten(json)}";
            return false;
        }

        return true;
    }

    private static string Describe(IEnumerable<KernelParameterMetadata> parameters)
    {
        var list = parameters.Select(p => $"{p.Name} ({TypeName(p.ParameterType ?? typeof(string))}{(p.IsRequired ? string.Empty : ", optional")})").ToList();
        return list.Count == 0 ? "no arguments" : string.Join(", ", list);
    }

    private static string TypeName(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "a boolean",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) => "an integer",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
            _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
            _ when type.IsArray || (type.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)) => "an array",
            _ => "an object (" + type.Name + ")",
        };
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
