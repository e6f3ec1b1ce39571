using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.HuggingFace;

/// <summary>
/// <c>model.safetensors.index.json</c> of a sharded checkpoint: which shard file holds each tensor, and
/// <c>metadata.total_size</c>, the bytes of tensor data over all shards.
/// </summary>
public sealed record SafetensorsIndex
{
    public const string DefaultFileName = "model.safetensors.index.json";

    [JsonPropertyName("metadata")] public Dictionary<string, JsonElement>? Metadata { get; init; }

    [JsonPropertyName("weight_map")] public SortedDictionary<string, string> WeightMap { get; init; } = new(StringComparer.Ordinal);

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary><c>metadata.total_size</c>, or null when absent.</summary>
    [JsonIgnore]
    public long? TotalSize =>
        Metadata is not null && Metadata.TryGetValue("total_size", out var size) && size.ValueKind == JsonValueKind.Number
            ? (long)size.GetDouble()
            : null;

    /// <summary>The shard files named in the weight map, in order.</summary>
    [JsonIgnore] public IReadOnlyList<string> Files => [.. WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    public static SafetensorsIndex Read(string path)
    {
        var index = HfJson.Read<SafetensorsIndex>(path);
        if (index.WeightMap.Count == 0)
        {
            throw new FormatException($"{path}: the weight_map is empty.");
        }
        return index;
    }

    public void Write(string path) => HfJson.Write(path, this);

    public static SafetensorsIndex Create(IReadOnlyDictionary<string, string> weightMap, long totalSize) => new()
    {
        Metadata = new() { ["total_size"] = JsonSerializer.SerializeToElement(totalSize) },
        WeightMap = new(weightMap.ToDictionary(), StringComparer.Ordinal),
    };
}
