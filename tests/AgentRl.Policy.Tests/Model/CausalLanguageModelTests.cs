using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Model;

public sealed class CausalLanguageModelTests
{
    [Fact]
    public void StateDict_QwenConfigWithUntiedHead_HasExactlyTheHuggingFaceNames()
    {
        var config = TestModels.Micro with { ModelType = "qwen2", TieWordEmbeddings = false, NumHiddenLayers = 1 };
        using var model = new CausalLanguageModel(config);
        var keys = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            "lm_head.weight",
            "model.embed_tokens.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.self_attn.k_proj.bias",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.self_attn.q_proj.bias",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.self_attn.v_proj.bias",
            "model.layers.0.self_attn.v_proj.weight",
            "model.norm.weight",
        ];
        Assert.Equal(expected.OrderBy(k => k, StringComparer.Ordinal), keys);
        Assert.Equal([16L, 32L], model.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape);
    }

    [Fact]
    public void StateDict_LlamaConfigWithTiedEmbeddings_HasNoLmHeadAndNoBias()
    {
        using var model = new CausalLanguageModel(TestModels.Micro);
        var keys = model.state_dict().Keys.ToArray();
        Assert.DoesNotContain("lm_head.weight", keys);
        Assert.DoesNotContain(keys, k => k.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Equal(2 + (2 * 9), keys.Length);
    }

    [Fact]
    public void Forward_RandomWeights_MatchesNaiveReferenceAttention()
    {
        using var model = TestModels.Create(TestModels.Micro with { ModelType = "qwen2" });
        using var scope = NewDisposeScope();
        RandomizeBiases(model);
        var ids = tensor(TestModels.RandomTokens(7, 64, 3), [1, 7]);   // [1, 7]
        var logits = model.forward(ids);                               // [1, 7, vocab]
        var reference = NaiveReference.Logits(model, TestModels.Micro with { ModelType = "qwen2" }, ids);   // [1, 7, vocab]
        Assert.True(logits.std().item<float>() > 0.1f, "logits must vary for the comparison to mean something");
        Assert.True(logits.sub(reference).abs().max().item<float>() < 1e-4f);
    }

    [Theory]
    [InlineData(false, "llama")]
    [InlineData(true, "llama")]
    [InlineData(true, "qwen2")]
    public void ForwardCached_TokenByTokenDecoding_EqualsFullForward(bool fused, string modelType)
    {
        using var model = TestModels.Create(TestModels.Micro with { ModelType = modelType });
        using var scope = NewDisposeScope();
        RandomizeBiases(model);
        var full = model.forward(tensor(TestModels.RandomTokens(12, 64, 5), [1, 12]));                 // [1, 12, vocab]
        if (fused)
        {
            model.FuseForInference();
        }

        using var cache = new KvCache(model.Config);
        var tokens = TestModels.RandomTokens(12, 64, 5);

        var prompt = model.ForwardCached(tensor(tokens[..5], [1, 5]), cache, [0], [5]);              // [1, vocab]
        Assert.True(prompt.sub(full[0, 4]).abs().max().item<float>() < 1e-4f);
        for (var position = 5; position < 12; position++)
        {
            var step = model.ForwardCached(tensor(new[] { tokens[position] }, [1, 1]), cache, [position], [1]);   // [1, vocab]
            var difference = step.sub(full[0, position]).abs().max().item<float>();
            Assert.True(difference < 1e-4f, $"position {position}: max |Δ| = {difference}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardCached_RaggedBatch_EqualsEachRowAlone(bool fused)
    {
        using var model = TestModels.Create();
        using var scope = NewDisposeScope();
        if (fused)
        {
            model.FuseForInference();
        }

        long[][] sequences = [TestModels.RandomTokens(9, 64, 1), TestModels.RandomTokens(4, 64, 2), TestModels.RandomTokens(6, 64, 3)];

        // Batched: prefill all rows right-padded, then decode two more tokens per row at different positions.
        using var cache = new KvCache(model.Config);
        var padded = zeros([3, 9], dtype: ScalarType.Int64);                                          // [3, 9]
        for (var row = 0; row < 3; row++)
        {
            padded[row, TensorIndex.Slice(0, sequences[row].Length)] = tensor(sequences[row]);
        }

        var prefill = model.ForwardCached(padded, cache, [0, 0, 0], [9, 4, 6]);                         // [3, vocab]
        var next = tensor(new long[] { 7, 8, 9 }, [3, 1]);                                             // [3, 1]
        var decode = model.ForwardCached(next, cache, [9, 4, 6], [1, 1, 1]);                            // [3, vocab]

        for (var row = 0; row < 3; row++)
        {
            var alone = model.forward(tensor(sequences[row].Append(7 + row).ToArray(), [1, sequences[row].Length + 1]));   // [1, len + 1, vocab]
            var length = sequences[row].Length;
            Assert.True(prefill[row].sub(alone[0, length - 1]).abs().max().item<float>() < 1e-4f, $"prefill row {row}");
            Assert.True(decode[row].sub(alone[0, length]).abs().max().item<float>() < 1e-4f, $"decode row {row}");
        }
    }

    [Fact]
    public void ForwardCached_UniformBatchPrefillAndDecode_EqualsFullForward()
    {
        using var model = TestModels.Create();
        model.FuseForInference();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(model.Config);
        var tokens = tensor(TestModels.RandomTokens(2 * 7, 64, 9), [2, 7]);                            // [2, 7]
        var full = model.forward(tokens);                                                               // [2, 7, vocab]
        var prefill = model.ForwardCached(tokens.narrow(1, 0, 6), cache, [0, 0], [6, 6]);              // [2, vocab]
        var decode = model.ForwardCached(tokens.narrow(1, 6, 1), cache, [6, 6], [1, 1]);              // [2, vocab]
        Assert.True(prefill.sub(full.select(1, 5)).abs().max().item<float>() < 1e-4f);
        Assert.True(decode.sub(full.select(1, 6)).abs().max().item<float>() < 1e-4f);
    }

    [Fact]
    public void ForwardCached_Bfloat16Model_StaysCloseToFloat32()
    {
        using var model = TestModels.Create();
        using var half = new CausalLanguageModel(TestModels.Micro, dtype: ScalarType.BFloat16);
        half.LoadParameters(model.state_dict());
        half.FuseForInference();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(half.Config, dtype: ScalarType.BFloat16);
        var tokens = TestModels.RandomTokens(8, 64, 4);
        var full = model.forward(tensor(tokens, [1, 8]));                                               // [1, 8, vocab]
        half.ForwardCached(tensor(tokens[..7], [1, 7]), cache, [0], [7]);
        var step = half.ForwardCached(tensor(tokens[7..], [1, 1]), cache, [7], [1]);                  // [1, vocab] bf16

        Assert.Equal(ScalarType.BFloat16, step.dtype);
        var difference = step.to_type(ScalarType.Float32).sub(full[0, 7]).abs().max().item<float>();
        Assert.True(difference < 0.15f * full.abs().max().item<float>(), $"max |Δ| = {difference}");
    }

    private static void RandomizeBiases(CausalLanguageModel model)
    {
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)))
        {
            parameter.normal_(0, 0.5);
        }
    }
}
