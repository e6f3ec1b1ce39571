using AgentRl.Policy.Generation;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Integration;

public sealed class HfModelDirectoryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "agentrl-hf-" + Guid.NewGuid().ToString("N"));

    private static readonly ModelConfig Qwen2Tiny = ModelConfig.Tiny with
    {
        Architectures = ["Qwen2ForCausalLM"],
        ModelType = "qwen2",
        TieWordEmbeddings = false,
        AttentionBias = null, // qwen2 implies q/k/v bias
    };

    [Fact]
    public async Task Qwen2StyleCheckpoint_SavedAndLoaded_HasQwenNamesAndGeneratesTheSameTokens()
    {
        var tokenizer = new ByteLevelTokenizer();
        using var original = new CausalLanguageModel(Qwen2Tiny);
        original.InitializeWeights(std: 0.2, seed: 11);
        original.eval();
        PolicyLoader.Save(_dir, original, tokenizer);

        var names = HfCheckpoint.Inspect(_dir).Select(t => t.Name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.Contains("model.layers.3.self_attn.v_proj.bias", names);
        Assert.Contains("lm_head.weight", names);

        var (loaded, loadedTokenizer) = PolicyLoader.Load(_dir);
        using (loaded)
        {
            Assert.Equal(tokenizer.Encode("x = 1 + 2 <tool_call>"), loadedTokenizer.Encode("x = 1 + 2 <tool_call>"));
            var prompt = tokenizer.Encode("Compute 12 * 7.");
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var ids = tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0);   // [1, seq]
                var expected = original.forward(ids);                                   // [1, seq, vocab]
                var actual = loaded.forward(ids);                                       // [1, seq, vocab]
                Assert.True(expected.allclose(actual, rtol: 0, atol: 0), "loaded weights must give bit-identical logits");
            }

            var request = new GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 24, Temperature = 1.0, Seed = 5 };
            using var first = new InferenceEngine(original);
            using var second = new InferenceEngine(loaded);
            var a = await first.GenerateAsync(request);
            var b = await second.GenerateAsync(request);
            Assert.Equal(24, a.TokenIds.Length);
            Assert.Equal(a.TokenIds, b.TokenIds);
            Assert.Equal(a.LogProbs, b.LogProbs);
        }
    }

    [Fact]
    public void Load_MissingDirectory_SaysWhichDirectory()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => PolicyLoader.Load(_dir));
        Assert.Contains(_dir, e.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
