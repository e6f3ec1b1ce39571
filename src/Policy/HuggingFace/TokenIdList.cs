using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// A token id field that Hugging Face files write either as one number (<c>"eos_token_id": 151645</c>) or as a
/// list (<c>"eos_token_id": [151645, 151643]</c>). Reads both and writes back the form it was read in.
/// </summary>
[JsonConverter(typeof(TokenIdListJsonConverter))]
public sealed class TokenIdList : IReadOnlyList<int>, IEquatable<TokenIdList>
{
    private readonly int[] _ids;

    public TokenIdList(IEnumerable<int> ids, bool isScalar = false)
    {
        _ids = [.. ids];
        if (isScalar && _ids.Length != 1)
        {
            throw new ArgumentException("A scalar token id field holds exactly one id.", nameof(ids));
        }
        IsScalar = isScalar;
    }

    /// <summary>True when the field is a single number rather than a list.</summary>
    public bool IsScalar { get; }

    public int Count => _ids.Length;

    public int this[int index] => _ids[index];

    public static TokenIdList Single(int id) => new([id], isScalar: true);

    public static TokenIdList Of(params int[] ids) => new(ids);

    /// <summary>Reads the same forms from a raw element, e.g. <c>ModelConfig.EosTokenId</c>.</summary>
    public static TokenIdList? FromJson(JsonElement? element) => element is { } e && e.ValueKind != JsonValueKind.Null
        ? e.Deserialize<TokenIdList>(HfJson.Options)
        : null;

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_ids).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(TokenIdList? other) => other is not null && IsScalar == other.IsScalar && _ids.AsSpan().SequenceEqual(other._ids);

    public override bool Equals(object? obj) => Equals(obj as TokenIdList);

    public override int GetHashCode() => HashCode.Combine(IsScalar, _ids.Length, _ids.FirstOrDefault());

    public override string ToString() => IsScalar ? _ids[0].ToString(System.Globalization.CultureInfo.InvariantCulture) : $"[{string.Join(", ", _ids)}]";
}

public sealed class TokenIdListJsonConverter : JsonConverter<TokenIdList>
{
    public override TokenIdList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return TokenIdList.Single(reader.GetInt32());
            case JsonTokenType.StartArray:
                var ids = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ids.Add(reader.TokenType == JsonTokenType.Number
                        ? reader.GetInt32()
                        : throw new JsonException("A token id list must hold numbers only."));
                }
                return new TokenIdList(ids);
            case JsonTokenType.Null:
                return null;
            default:
                throw new JsonException($"A token id must be a number or a list of numbers, not {reader.TokenType}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, TokenIdList value, JsonSerializerOptions options)
    {
        if (value.IsScalar)
        {
            writer.WriteNumberValue(value[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var id in value)
        {
            writer.WriteNumberValue(id);
        }
        writer.WriteEndArray();
    }
}
