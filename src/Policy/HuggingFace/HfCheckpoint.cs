using AgentRl.Policy.Model;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace AgentRl.Policy.HuggingFace;

/// <summary>How <see cref="HfCheckpoint.Save(string, ModelConfig, Module, HfSaveOptions?)"/> writes a checkpoint.</summary>
public sealed record HfSaveOptions
{
    /// <summary>Written as <c>generation_config.json</c> when given.</summary>
    public GenerationConfig? Generation { get; init; }

    /// <summary>Written as <c>tokenizer_config.json</c> when given.</summary>
    public TokenizerConfig? Tokenizer { get; init; }

    /// <summary>Store floating-point tensors in this dtype (e.g. bfloat16); <c>torch_dtype</c> in config.json follows.</summary>
    public ScalarType? Dtype { get; init; }

    /// <summary>Weights above this many bytes are split into shards with an index.</summary>
    public long MaxShardBytes { get; init; } = SafetensorsWriter.DefaultMaxShardBytes;

    /// <summary>The safetensors <c>__metadata__</c>; <c>transformers</c> requires <c>"format": "pt"</c>, which is the default.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Other files copied into the checkpoint under their own names, e.g. <c>tokenizer.json</c>.</summary>
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];
}

/// <summary>
/// A Hugging Face model directory: <c>config.json</c>, optional <c>generation_config.json</c> and
/// <c>tokenizer_config.json</c>, and weights in <c>model.safetensors</c> or shards listed by
/// <c>model.safetensors.index.json</c>. Opening reads the JSON files and the weight headers; tensor data is read
/// when loaded into a module. Saving writes the same layout, so checkpoints open here and in other tools.
/// </summary>
public sealed class HfCheckpoint : IDisposable
{
    public const string ConfigFileName = "config.json";

    private HfCheckpoint(string directory, ModelConfig config, GenerationConfig? generation, TokenizerConfig? tokenizer, SafetensorsWeights weights)
    {
        Directory = directory;
        Config = config;
        Generation = generation;
        Tokenizer = tokenizer;
        Weights = weights;
    }

    public string Directory { get; }

    public ModelConfig Config { get; }

    public GenerationConfig? Generation { get; }

    public TokenizerConfig? Tokenizer { get; }

    public SafetensorsWeights Weights { get; }

    public static HfCheckpoint Open(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"{directory} is not a Hugging Face checkpoint: {ConfigFileName} is missing.", configPath);
        }
        var config = HfJson.ReadModelConfig(configPath);
        var generationPath = Path.Combine(directory, GenerationConfig.FileName);
        var generation = File.Exists(generationPath) ? GenerationConfig.Read(generationPath) : null;
        var tokenizer = TokenizerConfig.ReadFromDirectory(directory);
        return new HfCheckpoint(directory, config, generation, tokenizer, SafetensorsWeights.Open(directory));
    }

    /// <summary>Reads only the weight headers of a checkpoint directory: every tensor's name, dtype and shape, sorted by name.</summary>
    public static IReadOnlyList<SafetensorsTensorInfo> Inspect(string directory)
    {
        using var weights = SafetensorsWeights.Open(directory);
        return [.. weights.Names.Select(weights.Info)];
    }

    /// <summary>
    /// Copies the weights into <paramref name="module"/> by exact name (see <see cref="ModuleWeights.Load(Module, SafetensorsWeights, WeightLoadOptions?)"/>);
    /// tying follows <c>tie_word_embeddings</c> of config.json unless the options say otherwise.
    /// </summary>
    public WeightLoadReport LoadInto(Module module, WeightLoadOptions? options = null)
    {
        options ??= new WeightLoadOptions();
        return ModuleWeights.Load(module, Weights, options with { TieWordEmbeddings = options.TieWordEmbeddings ?? Config.TieWordEmbeddings });
    }

    /// <summary>Saves a module's state (without <c>lm_head.weight</c> when the config ties embeddings) with its config.</summary>
    public static void Save(string directory, ModelConfig config, Module module, HfSaveOptions? options = null) =>
        Save(directory, config, ModuleWeights.StateForSaving(module, config.TieWordEmbeddings), options);

    /// <summary>
    /// Saves named tensors with their config. Writes weights first and config.json last, so a directory with a
    /// config.json is complete. When the config ties embeddings, <c>lm_head.weight</c> is left out.
    /// </summary>
    public static void Save(string directory, ModelConfig config, IEnumerable<KeyValuePair<string, Tensor>> tensors, HfSaveOptions? options = null)
    {
        options ??= new HfSaveOptions();
        System.IO.Directory.CreateDirectory(directory);
        var toSave = tensors.Where(kv => !(config.TieWordEmbeddings && kv.Key == ModuleWeights.LmHeadWeight)).ToList();
        SafetensorsWriter.WriteSharded(directory, toSave, options.MaxShardBytes, options.Metadata, options.Dtype);

        options.Generation?.Write(Path.Combine(directory, GenerationConfig.FileName));
        options.Tokenizer?.Write(Path.Combine(directory, TokenizerConfig.FileName));
        foreach (var file in options.ExtraFiles)
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)), overwrite: true);
        }

        var storedFloat = options.Dtype ?? toSave.Select(kv => kv.Value.dtype).Where(is_floating_point).Cast<ScalarType?>().FirstOrDefault();
        var saved = storedFloat is { } dtype ? config with { TorchDtype = SafetensorsDtypes.ToTorchDtypeName(dtype) } : config;
        HfJson.WriteModelConfig(Path.Combine(directory, ConfigFileName), saved);
    }

    public void Dispose() => Weights.Dispose();
}
