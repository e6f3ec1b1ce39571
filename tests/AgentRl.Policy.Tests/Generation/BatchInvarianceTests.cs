using AgentRl.Policy.Generation;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Generation;

/// <summary>
/// Batch-invariant generation: a request's tokens, log-probs and entropies are the same bits alone and in a crowd, under
/// any batching window, thread split and prefix-cache state. Dimensions are chosen off the vector width (hidden 40,
/// head_dim 10, intermediate 100) so the odd vector and the scalar tails of every product run.
/// </summary>
public sealed class BatchInvarianceTests
{
    private static readonly ModelConfig Odd = TestModels.Micro with { HiddenSize = 40, HeadDimOverride = 10, IntermediateSize = 100, MaxPositionEmbeddings = 128 };

    private static GenerationRequest Request(int length, int seed, int maxNewTokens, int[]? prefix = null) => new()
    {
        PromptTokenIds = [.. prefix ?? [], .. TestModels.RandomTokens(length, Odd.VocabSize, seed).Select(t => (int)t)],
        MaxNewTokens = maxNewTokens,
        Seed = seed,
    };

    [Theory]
    [InlineData(1, 0, 16)]    // one thread, no batching window, prefix cache on
    [InlineData(2, 5, 16)]    // rows split over two threads, a 5 ms window
    [InlineData(4, 1, 0)]     // four threads, prefix cache off
    public async Task Generation_AloneEqualsInABatchOf17MixedLengthRequests_BitForBit(int threads, int windowMs, int prefixEntries)
    {
        using var model = TestModels.Create(Odd, seed: 3, std: 0.15);
        var shared = TestModels.RandomTokens(9, Odd.VocabSize, 99).Select(t => (int)t).ToArray();
        var probe = Request(6, 7, 24, shared);
        GenerationResult alone;
        using (var engine = new InferenceEngine(model, options: new InferenceEngineOptions { CpuDecodeThreads = 1, BatchingWindow = TimeSpan.Zero, PrefixCacheEntries = 0 }))
        {
            Assert.True(engine.BatchInvariant);
            alone = await engine.GenerateAsync(probe);
        }

        var options = new InferenceEngineOptions { CpuDecodeThreads = threads, BatchingWindow = TimeSpan.FromMilliseconds(windowMs), PrefixCacheEntries = prefixEntries, MinPrefixTokens = 2 };
        using (var engine = new InferenceEngine(model, options: options))
        {
            // A first wave leaves finished sequences sharing the probe's prefix in the prefix cache.
            await Task.WhenAll(Enumerable.Range(0, 3).Select(i => engine.GenerateAsync(Request(2 + i, 50 + i, 3, shared))));
            var crowd = Enumerable.Range(0, 16)
                .Select(i => engine.GenerateAsync(Request(1 + ((i * 5) % 23), 200 + i, 4 + ((i * 7) % 29), i % 3 == 0 ? shared : null)))
                .ToList();
            var batched = engine.GenerateAsync(probe);   // the 17th, joining rows already decoding
            var late = engine.GenerateAsync(Request(31, 300, 10));
            await Task.WhenAll([.. crowd, batched, late]);

            var inCrowd = await batched;
            Assert.Equal(24, alone.TokenIds.Length);
            Assert.Equal(alone.TokenIds, inCrowd.TokenIds);
            Assert.Equal(alone.LogProbs, inCrowd.LogProbs);       // exact: float equality, element by element
            Assert.Equal(alone.Entropies, inCrowd.Entropies);
            if (prefixEntries > 0)
            {
                Assert.True(engine.ReusedPromptTokens > 0, "the crowd should have reused cached prefixes");
            }
        }
    }

    [Fact]
    public void ManagedPrefill_EqualsTokenByTokenDecoding_BitForBit_WhateverTheThreads()
    {
        using var model = TestModels.Create(Odd, seed: 5, std: 0.15);
        model.FuseForInference();
        model.BatchInvariant = true;
        using var noGrad = no_grad();
        var prompts = Enumerable.Range(0, 11).Select(i => TestModels.RandomTokens(3 + ((i * 5) % 13), Odd.VocabSize, i)).ToArray();

        // The prompts as one padded prefill of 11 rows, on four threads.
        using var batchCache = new KvCache(Odd);
        model.CpuDecodeThreads = 4;
        var width = prompts.Max(p => p.Length);
        var padded = new long[prompts.Length * width];
        for (var row = 0; row < prompts.Length; row++)
        {
            prompts[row].CopyTo(padded, row * width);
        }

        using var batchLogits = model.ForwardCached(tensor(padded, [prompts.Length, width]), batchCache, new long[prompts.Length], [.. prompts.Select(p => (long)p.Length)]);   // [rows, vocab]

        // Each prompt alone, one token per call, on one thread.
        model.CpuDecodeThreads = 1;
        for (var row = 0; row < prompts.Length; row++)
        {
            using var cache = new KvCache(Odd);
            Tensor? last = null;
            for (var t = 0; t < prompts[row].Length; t++)
            {
                last?.Dispose();
                last = model.ForwardCached(tensor(new[] { prompts[row][t] }, [1, 1]), cache, [t], [1]);   // [1, vocab]
            }

            Assert.Equal(last!.data<float>().ToArray(), batchLogits[row].data<float>().ToArray());
            for (var layer = 0; layer < Odd.NumHiddenLayers; layer++)
            {
                var length = prompts[row].Length;
                Assert.Equal(Keys(cache, layer, 0, length), Keys(batchCache, layer, row, length));
            }

            last.Dispose();
        }
    }

    [Fact]
    public void Blocks_NeverSplitATokenRunOfOneCacheRow()
    {
        long[] rows = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3];
        var bounds = CpuDecoder.Blocks(rows, threads: 4);

        Assert.Equal(0, bounds[0]);
        Assert.Equal(rows.Length, bounds[^1]);
        Assert.True(bounds.Count > 2, "32 rows on four threads should make more than one block");
        foreach (var cut in bounds.Skip(1).SkipLast(1))
        {
            Assert.NotEqual(rows[cut - 1], rows[cut]);
        }

        Assert.Equal([0, 1], CpuDecoder.Blocks(Enumerable.Repeat(7L, 1).ToArray(), 4));
        Assert.Equal([0, 40], CpuDecoder.Blocks(Enumerable.Repeat(7L, 40).ToArray(), 4));   // one sequence: one block
    }

    private static float[] Keys(KvCache cache, int layer, long row, int length)
    {
        var (keys, _) = cache.Storage(layer);   // [rows, kv_heads, capacity, head_dim]
        using var slice = keys[row].narrow(1, 0, length).contiguous();
        return slice.data<float>().ToArray();
    }
}
