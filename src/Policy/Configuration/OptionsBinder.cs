using System.Globalization;
using System.Reflection;
using AgentRl.Abstractions.Configuration;
using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Configuration;

/// <summary>
/// Binds <c>key → text</c> overrides (a run's <c>objective</c> and <c>trainer</c> sections, <c>--set objective.KEY=VALUE</c>)
/// onto an options record: every public init property of a scalar type (number, bool, enum, string, nullable of those)
/// is a key, spelled in camelCase. An unknown key is refused naming it and the valid keys; a value that does not parse
/// is refused naming the field, the value and the expected type. Ranges are the options' own <c>Problems()</c>.
/// </summary>
public static class OptionsBinder
{
    /// <summary>
    /// A copy of <paramref name="defaults"/> with <paramref name="overrides"/> applied. <paramref name="excluded"/> maps keys
    /// that are set elsewhere in the run configuration to where (e.g. <c>learningRate</c> → the run's <c>learningRate</c>).
    /// </summary>
    public static T Bind<T>(T defaults, IReadOnlyDictionary<string, string>? overrides, string section, IReadOnlyDictionary<string, string>? excluded = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(defaults);
        if (overrides is null || overrides.Count == 0)
        {
            return defaults;
        }

        var properties = Properties(typeof(T), excluded);
        var copy = Clone(defaults);
        foreach (var (key, text) in overrides)
        {
            if (excluded is not null && excluded.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)) is { Key: not null } moved)
            {
                throw new ArgumentException($"{section}.{key}: set it as {moved.Value} instead (the run configuration holds it).");
            }

            var property = properties.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"{section}.{key}: unknown key. Valid keys: {string.Join(", ", properties.Select(p => OptionChecks.Camel(p.Name)))}.{NameSuggestions.DidYouMean(key, properties.Select(p => OptionChecks.Camel(p.Name)))}");
            property.SetValue(copy, Parse(property.PropertyType, text, $"{section}.{OptionChecks.Camel(property.Name)}"));
        }

        return copy;
    }

    /// <summary>The keys <see cref="Bind{T}"/> accepts for <typeparamref name="T"/>, in camelCase.</summary>
    public static IReadOnlyList<string> Keys<T>(IReadOnlyDictionary<string, string>? excluded = null) =>
        [.. Properties(typeof(T), excluded).Select(p => OptionChecks.Camel(p.Name))];

    /// <summary>Every bindable field of <paramref name="options"/> with its value as text (what <c>--print-config</c> shows).</summary>
    public static SortedDictionary<string, string> Describe<T>(T options, IReadOnlyDictionary<string, string>? excluded = null)
        where T : class
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in Properties(typeof(T), excluded))
        {
            result[OptionChecks.Camel(property.Name)] = Format(property.GetValue(options));
        }

        return result;
    }

    /// <summary>A value as configuration text: numbers round-trip, enums by their configuration names, null as <c>null</c>.</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable number when value.GetType().IsPrimitive => number.ToString(null, CultureInfo.InvariantCulture),
        Enum e => EnumName(e),
        _ => value.ToString() ?? "",
    };

    private static List<PropertyInfo> Properties(Type type, IReadOnlyDictionary<string, string>? excluded) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod is { IsPublic: true } && IsScalar(p.PropertyType))
            .Where(p => excluded is null || !excluded.Keys.Any(k => string.Equals(k, p.Name, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(p => p.MetadataToken)];

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(double) || t == typeof(decimal);
    }

    private static T Clone<T>(T value)
        where T : class
    {
        // Records expose their copy constructor through <Clone>$; plain classes are copied member-wise.
        var clone = typeof(T).GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance);
        return clone is not null
            ? (T)clone.Invoke(value, null)!
            : (T)typeof(object).GetMethod("MemberwiseClone", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(value, null)!;
    }

    private static object? Parse(Type type, string text, string field)
    {
        var nullable = Nullable.GetUnderlyingType(type);
        var target = nullable ?? type;
        var trimmed = text.Trim();
        if ((nullable is not null || !target.IsValueType) && trimmed is "null" or "")
        {
            return null;
        }

        string Expected() => target.IsEnum ? $"one of {string.Join(", ", EnumNames(target))}" : target == typeof(bool) ? "true or false" : target == typeof(string) ? "text" : target == typeof(int) || target == typeof(long) ? "a whole number" : "a number";
        try
        {
            if (target == typeof(string))
            {
                return text;
            }
            if (target == typeof(bool))
            {
                return trimmed.ToLowerInvariant() switch
                {
                    "true" => true,
                    "false" => false,
                    _ => throw new FormatException(),
                };
            }
            if (target.IsEnum)
            {
                return ParseEnum(target, trimmed);
            }
            var number = Convert.ChangeType(trimmed, target, CultureInfo.InvariantCulture);
            if (number is double d && !double.IsFinite(d))
            {
                throw new FormatException();
            }
            return number;
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException or ArgumentException)
        {
            throw new ArgumentException($"{field}: '{text}' is not valid; expected {Expected()}.");
        }
    }

    /// <summary>The objective enums by their verl names (<c>token-mean</c>, <c>k3</c>…); other enums by their C# names.</summary>
    private static object ParseEnum(Type type, string text)
    {
        if (type == typeof(AdvantageEstimator)) return ObjectiveNames.ParseAdvantageEstimator(text);
        if (type == typeof(PolicyLossKind)) return ObjectiveNames.ParsePolicyLoss(text);
        if (type == typeof(LossAggMode)) return ObjectiveNames.ParseLossAggMode(text);
        if (type == typeof(KlEstimator)) return ObjectiveNames.ParseKlEstimator(text);
        var match = Enum.GetNames(type).FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        return match is null ? throw new FormatException() : Enum.Parse(type, match);
    }

    private static string EnumName(Enum value) => value switch
    {
        AdvantageEstimator a => ObjectiveNames.Name(a),
        PolicyLossKind p => ObjectiveNames.Name(p),
        LossAggMode l => ObjectiveNames.Name(l),
        KlEstimator k => ObjectiveNames.Name(k),
        _ => OptionChecks.Camel(value.ToString()),
    };

    private static IEnumerable<string> EnumNames(Type type) => Enum.GetValues(type).Cast<Enum>().Select(EnumName);
}
