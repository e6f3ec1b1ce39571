using System.Text;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace AgentRl.Policy.HuggingFace;

/// <summary>How checkpoint tensors are matched to a module's parameters and buffers.</summary>
public sealed record WeightLoadOptions
{
    /// <summary>
    /// The model ties its output projection to the input embedding (<c>tie_word_embeddings</c>): the output name is
    /// neither required in the checkpoint nor loaded from it; it receives the input embedding instead. Null: take it
    /// from the checkpoint's config.
    /// </summary>
    public bool? TieWordEmbeddings { get; init; }

    public string OutputEmbeddingName { get; init; } = ModuleWeights.LmHeadWeight;

    public string InputEmbeddingName { get; init; } = ModuleWeights.EmbedTokensWeight;

    /// <summary>Accept model tensors the checkpoint lacks (they keep their values). Off by default.</summary>
    public bool AllowMissing { get; init; }

    /// <summary>Accept checkpoint tensors the model lacks (they are ignored). Off by default.</summary>
    public bool AllowUnexpected { get; init; }

    /// <summary>
    /// Checkpoint tensors that are not weights and are never loaded nor reported unexpected: by default the rotary
    /// <c>inv_freq</c> buffers some older Llama conversions saved (reported as skipped when the model lacks them).
    /// </summary>
    public Func<string, bool> IsIgnoredCheckpointTensor { get; init; } = static name => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);
}

/// <summary>What a load did, by tensor name (each list sorted).</summary>
/// <param name="Loaded">Model tensors copied from the checkpoint.</param>
/// <param name="Missing">Model tensors the checkpoint lacks (only with <see cref="WeightLoadOptions.AllowMissing"/>).</param>
/// <param name="Unexpected">Checkpoint tensors the model lacks (only with <see cref="WeightLoadOptions.AllowUnexpected"/>).</param>
/// <param name="Skipped">Checkpoint tensors deliberately not loaded: the output embedding of a tied model, ignored non-weights.</param>
/// <param name="Tied">Model tensors filled from the input embedding because the model ties them.</param>
public sealed record WeightLoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Skipped,
    IReadOnlyList<string> Tied);

/// <summary>The checkpoint's tensors and the module's do not match; the message lists every difference.</summary>
public sealed class WeightMismatchException : Exception
{
    public WeightMismatchException(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
        : base(Describe(missing, unexpected, shapeMismatches))
    {
        Missing = missing;
        Unexpected = unexpected;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Model tensors the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Checkpoint tensors the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Names present in both with different shapes, as <c>name: checkpoint [..] vs model [..]</c>.</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string Describe(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
    {
        var text = new StringBuilder("Checkpoint weights do not match the model.");
        Append(text, "Missing from the checkpoint", missing);
        Append(text, "Unexpected (in the checkpoint, not in the model)", unexpected);
        Append(text, "Shape mismatch", shapeMismatches);
        return text.ToString();
    }

    private static void Append(StringBuilder text, string title, IReadOnlyList<string> names)
    {
        if (names.Count > 0)
        {
            text.Append('\n').Append(title).Append(" (").Append(names.Count).Append("): ").AppendJoin(", ", names);
        }
    }
}

/// <summary>
/// Copies named tensors into a module's parameters and persistent buffers by exact name (<c>state_dict()</c> names,
/// e.g. <c>model.layers.0.self_attn.q_proj.weight</c>), and lists a module's tensors for saving.
/// </summary>
public static class ModuleWeights
{
    public const string LmHeadWeight = "lm_head.weight";

    public const string EmbedTokensWeight = "model.embed_tokens.weight";

    /// <summary>
    /// Checks names and shapes against the checkpoint headers first (nothing is copied when they disagree), then
    /// fills the module's tensors one at a time, converting to each tensor's dtype and device. A CPU tensor of the
    /// stored dtype is read straight from the file into its memory, so loading needs no second copy of the weights.
    /// </summary>
    /// <exception cref="WeightMismatchException">Missing or unexpected names (unless allowed) or any shape mismatch.</exception>
    public static WeightLoadReport Load(Module module, SafetensorsWeights weights, WeightLoadOptions? options = null) =>
        Load(module, weights.Names, name => weights.Info(name).ShapeArray, weights.ReadInto, options);

    /// <summary>Same as the checkpoint overload, from tensors already in memory (the caller keeps ownership of them).</summary>
    public static WeightLoadReport Load(Module module, IReadOnlyDictionary<string, Tensor> tensors, WeightLoadOptions? options = null) =>
        Load(module, tensors.Keys, name => tensors[name].shape, (name, destination) => destination.copy_(tensors[name]), options);

    /// <summary>
    /// The tensors to save for a module: its <c>state_dict()</c> in order, without the output embedding when the
    /// model ties it to the input embedding (Hugging Face checkpoints of tied models leave <c>lm_head.weight</c> out).
    /// The tensors are the module's own: do not dispose them.
    /// </summary>
    public static List<KeyValuePair<string, Tensor>> StateForSaving(Module module, bool tieWordEmbeddings, string outputEmbeddingName = LmHeadWeight) =>
        [.. module.state_dict().Where(kv => !(tieWordEmbeddings && kv.Key == outputEmbeddingName))];

    private static WeightLoadReport Load(
        Module module,
        IEnumerable<string> sourceNames,
        Func<string, long[]> shapeOf,
        Action<string, Tensor> readInto,
        WeightLoadOptions? options)
    {
        options ??= new WeightLoadOptions();
        var tied = options.TieWordEmbeddings ?? false;
        var state = module.state_dict();
        var source = sourceNames.ToHashSet(StringComparer.Ordinal);

        var skipped = source
            .Where(n => (tied && n == options.OutputEmbeddingName) || (!state.ContainsKey(n) && options.IsIgnoredCheckpointTensor(n)))
            .Order(StringComparer.Ordinal)
            .ToList();
        var wanted = state.Keys.Where(n => !(tied && n == options.OutputEmbeddingName)).Order(StringComparer.Ordinal).ToList();
        var missing = wanted.Where(n => !source.Contains(n)).ToList();
        var unexpected = source.Where(n => !state.ContainsKey(n) && !skipped.Contains(n)).Order(StringComparer.Ordinal).ToList();
        var toLoad = wanted.Where(source.Contains).ToList();
        var shapeMismatches = toLoad
            .Select(n => (Name: n, File: shapeOf(n), Model: state[n].shape))
            .Where(x => !x.File.AsSpan().SequenceEqual(x.Model))
            .Select(x => $"{x.Name}: checkpoint [{string.Join(", ", x.File)}] vs model [{string.Join(", ", x.Model)}]")
            .ToList();
        if (shapeMismatches.Count > 0 || (missing.Count > 0 && !options.AllowMissing) || (unexpected.Count > 0 && !options.AllowUnexpected))
        {
            throw new WeightMismatchException(
                options.AllowMissing ? [] : missing,
                options.AllowUnexpected ? [] : unexpected,
                shapeMismatches);
        }

        var tiedTargets = new List<string>();
        using (no_grad())
        {
            foreach (var name in toLoad)
            {
                readInto(name, state[name]);                               // [shape] into the module's own tensor
            }
            if (tied && state.TryGetValue(options.OutputEmbeddingName, out var output)
                && state.TryGetValue(options.InputEmbeddingName, out var input) && source.Contains(options.InputEmbeddingName))
            {
                output.copy_(input);                                       // [vocab, hidden]; a no-op when they share storage
                tiedTargets.Add(options.OutputEmbeddingName);
            }
        }
        return new WeightLoadReport(toLoad, missing, unexpected, skipped, tiedTargets);
    }
}
