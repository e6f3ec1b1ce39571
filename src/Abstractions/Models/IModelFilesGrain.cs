namespace AgentRl.Abstractions.Models;

/// <summary>
/// Hugging Face model directories as the silos see them (key: 0): what <c>agentrl model init|inspect|tokenize</c> do,
/// done on a silo, so a path means what it means to a run (<c>initFrom</c>, a policy's <c>ModelDir</c>, <c>dir:PATH</c>).
/// </summary>
public interface IModelFilesGrain : IGrainWithIntegerKey
{
    /// <summary>A checkpoint's configuration and its tensors (names, dtypes, shapes), in file order.</summary>
    /// <exception cref="ArgumentException">No such directory, or its config.json or safetensors cannot be read (the message says which).</exception>
    Task<ModelSummary> InspectAsync(string directory, CancellationToken cancellationToken = default);

    /// <summary>The token ids of <paramref name="text"/> under the directory's tokenizer (special-token text as plain text unless <paramref name="allowSpecial"/>).</summary>
    /// <exception cref="ArgumentException">No tokenizer can be loaded from the directory.</exception>
    Task<IReadOnlyList<int>> TokenizeAsync(string directory, string text, bool allowSpecial = true, CancellationToken cancellationToken = default);

    /// <summary>Writes a randomly initialised model of a preset (<c>tiny</c>, <c>small</c>) with the byte-level tokenizer; returns the folder's full path.</summary>
    /// <exception cref="ArgumentException">An unknown preset, or a folder that cannot be written.</exception>
    Task<string> InitAsync(string preset, long seed, string directory, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IModelFilesGrain.InspectAsync"/> reads.</summary>
/// <param name="ModelType">config.json's <c>model_type</c>.</param>
/// <param name="HiddenSize">Hidden size.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="KeyValueHeads">Key/value heads.</param>
/// <param name="VocabSize">Vocabulary size.</param>
/// <param name="TiedEmbeddings">Whether the output projection is the embedding.</param>
/// <param name="Tensors">Every tensor of the checkpoint.</param>
[GenerateSerializer, Immutable, Alias("agentrl.model-summary.v1")]
public sealed record ModelSummary(
    [property: Id(0)] string ModelType,
    [property: Id(1)] int HiddenSize,
    [property: Id(2)] int Layers,
    [property: Id(3)] int Heads,
    [property: Id(4)] int KeyValueHeads,
    [property: Id(5)] int VocabSize,
    [property: Id(6)] bool TiedEmbeddings,
    [property: Id(7)] IReadOnlyList<ModelTensor> Tensors);

/// <summary>One tensor of a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.model-tensor.v1")]
public sealed record ModelTensor([property: Id(0)] string Name, [property: Id(1)] string Dtype, [property: Id(2)] IReadOnlyList<long> Shape, [property: Id(3)] long ElementCount);
