using System.Text.Json;
using AgentRl.Abstractions.Models;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;
using Orleans.Concurrency;

namespace AgentRl.Grains.Policies;

/// <summary>
/// Reads and writes model directories on the silo that takes the call (see <see cref="IModelFilesGrain"/>). A stateless
/// worker: it holds nothing. A file that cannot be read or written is the caller's input, so it comes back as an
/// <see cref="ArgumentException"/> with the reason.
/// </summary>
[StatelessWorker]
public sealed class ModelFilesGrain : Grain, IModelFilesGrain
{
    public Task<ModelSummary> InspectAsync(string directory, CancellationToken cancellationToken = default) => Checked(() =>
    {
        var config = HfJson.ReadModelConfig(Path.Combine(directory, "config.json"));
        return new ModelSummary(
            config.ModelType,
            config.HiddenSize,
            config.NumHiddenLayers,
            config.NumAttentionHeads,
            config.KeyValueHeads,
            config.VocabSize,
            config.TieWordEmbeddings,
            [.. HfCheckpoint.Inspect(directory).Select(t => new ModelTensor(t.Name, t.Dtype.ToString(), t.Shape, t.ElementCount))]);
    });

    public Task<IReadOnlyList<int>> TokenizeAsync(string directory, string text, bool allowSpecial = true, CancellationToken cancellationToken = default) =>
        Checked<IReadOnlyList<int>>(() => [.. TokenizerLoader.Load(directory).Encode(text, allowSpecial: allowSpecial)]);

    public Task<string> InitAsync(string preset, long seed, string directory, CancellationToken cancellationToken = default) => Checked(() =>
    {
        using var model = new CausalLanguageModel(ModelConfig.Named(preset));
        model.InitializeWeights(seed: seed);
        PolicyLoader.Save(directory, model, new ByteLevelTokenizer());
        return Path.GetFullPath(directory);
    });

    private static Task<T> Checked<T>(Func<T> body)
    {
        try
        {
            return Task.FromResult(body());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidDataException or NotSupportedException or JsonException or WeightMismatchException)
        {
            throw new ArgumentException(e.Message);   // not the inner exception: a client need not know the type
        }
    }
}
