using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Model;

/// <summary>The managed decoding step against the torch forward it replaces for small batches.</summary>
public sealed class CpuDecoderTests
{
    [Theory]
    [InlineData("llama", true, 5, 1, 32)]       // tied head; 4 + 1 rows (blocked and remainder products)
    [InlineData("qwen2", false, 3, 1, 32)]      // q/k/v bias, untied head
    [InlineData("llama", true, 19, 2, 32)]      // rows split over two threads (blocks of whole groups of four)
    [InlineData("qwen2", true, 6, 1, 44)]       // hidden 44, head_dim 10: not multiples of the vector width, so the scalar tails run
    public void Step_RaggedRows_MatchesTorchForwardAndWritesTheSameCache(string modelType, bool tied, int batch, int threads, int hidden)
    {
        var config = TestModels.Micro with { ModelType = modelType, TieWordEmbeddings = tied, HiddenSize = hidden, HeadDimOverride = hidden == 32 ? null : 10 };
        using var model = TestModels.Create(config);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (_, bias) in model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)))
            {
                bias.normal_(0, 0.5);
            }
        }

        model.FuseForInference();
        Assert.True(model.HasCpuDecoder);
        model.CpuDecodeThreads = threads;
        using var torchCache = new KvCache(config);
        using var managedCache = new KvCache(config);
        var lengths = Enumerable.Range(0, batch).Select(row => 3 + ((row * 7) % 11)).ToArray();
        var firstRow = 2L;   // rows after others in the cache
        using var noGrad = no_grad();
        for (var row = 0; row < batch; row++)
        {
            // Prefill each row alone (torch) into both caches.
            var prompt = tensor(TestModels.RandomTokens(lengths[row], config.VocabSize, row), [1, lengths[row]]);
            model.CpuDecodeMaxBatch = 0;
            model.ForwardCached(prompt, torchCache, [0], [lengths[row]], firstRow + row);
            model.ForwardCached(prompt, managedCache, [0], [lengths[row]], firstRow + row);
        }

        var starts = lengths.Select(l => (long)l).ToArray();
        var ones = Enumerable.Repeat(1L, batch).ToArray();
        for (var step = 0; step < 3; step++)
        {
            var next = tensor(TestModels.RandomTokens(batch, config.VocabSize, 100 + step), [batch, 1]);   // [batch, 1]
            model.CpuDecodeMaxBatch = 0;
            var expected = model.ForwardCached(next, torchCache, starts, ones, firstRow);                   // [batch, vocab]
            model.CpuDecodeMaxBatch = batch;
            var actual = model.ForwardCached(next, managedCache, starts, ones, firstRow);                   // [batch, vocab]

            Assert.True(expected.std().item<float>() > 0.1f, "logits must vary for the comparison to mean something");
            var difference = actual.sub(expected).abs().max().item<float>();
            Assert.True(difference < 1e-4f, $"step {step}: max |Δ logits| = {difference}");
            for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                var (torchKeys, torchValues) = torchCache.Storage(layer);
                var (managedKeys, managedValues) = managedCache.Storage(layer);
                var rows = (firstRow, (long)batch);
                Assert.True(managedKeys.narrow(0, rows.firstRow, rows.Item2).sub(torchKeys.narrow(0, rows.firstRow, rows.Item2)).abs().max().item<float>() < 1e-5f, $"keys, layer {layer}");
                Assert.True(managedValues.narrow(0, rows.firstRow, rows.Item2).sub(torchValues.narrow(0, rows.firstRow, rows.Item2)).abs().max().item<float>() < 1e-5f, $"values, layer {layer}");
            }

            starts = starts.Select(s => s + 1).ToArray();
        }
    }

    [Fact]
    public void Step_TensorsAddressedPastTheSpanLimit_SameLogits()
    {
        // Tensors over 2 GiB cannot be one span; lowering the limit sends every tensor through the other way here.
        using var model = TestModels.Create();
        model.FuseForInference();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = new KvCache(model.Config);
        var prompt = tensor(TestModels.RandomTokens(2 * 5, 64, 3), [2, 5]);
        model.CpuDecodeMaxBatch = 0;
        model.ForwardCached(prompt, cache, [0, 0], [5, 5]);
        model.CpuDecodeMaxBatch = 2;
        var next = tensor(new long[] { 7, 9 }, [2, 1]);
        var expected = model.ForwardCached(next, cache, [5, 5], [1, 1]);
        var previous = CpuDecoder.SpanBytesLimit;
        try
        {
            CpuDecoder.SpanBytesLimit = 16;
            var actual = model.ForwardCached(next, cache, [5, 5], [1, 1]);   // same positions: rewrites the same keys
            Assert.True(actual.sub(expected).abs().max().item<float>() < 1e-6f);
        }
        finally
        {
            CpuDecoder.SpanBytesLimit = previous;
        }
    }

    [Fact]
    public void ForwardCached_MoreRowsThanTheLimitOrGradients_GoThroughTorch()
    {
        using var model = TestModels.Create();
        model.FuseForInference();
        model.CpuDecodeMaxBatch = 1;
        using var scope = NewDisposeScope();
        using var cache = new KvCache(model.Config);
        model.ForwardCached(tensor(TestModels.RandomTokens(2 * 4, 64, 1), [2, 4]), cache, [0, 0], [4, 4]);
        using (enable_grad())
        {
            // With autograd on, the step must come from torch so that it carries a graph.
            model.train();
            var logits = model.ForwardCached(tensor(new long[] { 5 }, [1, 1]), cache, [4], [1]);
            Assert.True(logits.requires_grad);
        }
    }

    [Fact]
    public void Unfuse_DropsTheManagedDecoder()
    {
        using var model = TestModels.Create();
        model.FuseForInference();
        Assert.True(model.HasCpuDecoder);
        model.Unfuse();
        Assert.False(model.HasCpuDecoder);
    }

    [Fact]
    public void Step_TokenOutsideTheVocabulary_Throws()
    {
        using var model = TestModels.Create();
        model.FuseForInference();
        model.CpuDecodeMaxBatch = 4;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = new KvCache(model.Config);
        model.ForwardCached(tensor(TestModels.RandomTokens(3, 64, 1), [1, 3]), cache, [0], [3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ForwardCached(tensor(new long[] { 64 }, [1, 1]), cache, [3], [1]));
    }
}
