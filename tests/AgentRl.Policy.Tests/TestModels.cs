using AgentRl.Policy.Model;

namespace AgentRl.Policy.Tests;

internal static class TestModels
{
    /// <summary>A two-layer GQA model small enough for sub-second tests.</summary>
    public static ModelConfig Micro { get; } = new()
    {
        VocabSize = 64,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        MaxPositionEmbeddings = 64,
    };

    /// <summary>A model with random weights large enough that logits differ clearly between positions.</summary>
    public static CausalLanguageModel Create(ModelConfig? config = null, long seed = 1, double std = 0.2)
    {
        var model = new CausalLanguageModel(config ?? Micro);
        model.InitializeWeights(std, seed);
        model.eval();
        return model;
    }

    public static long[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (long)random.Next(vocab)).ToArray();
    }
}
