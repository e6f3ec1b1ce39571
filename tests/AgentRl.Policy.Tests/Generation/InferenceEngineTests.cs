using AgentRl.Policy.Generation;
using AgentRl.Policy.Training;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Generation;

public sealed class InferenceEngineTests
{
    private sealed class BracketDecoder : ITokenDecoder
    {
        public string Decode(IReadOnlyList<int> tokenIds) => string.Concat(tokenIds.Select(id => $"[{id}]"));
    }

    private static int[] Prompt(int length, int seed) => TestModels.RandomTokens(length, 64, seed).Select(t => (int)t).ToArray();

    [Fact]
    public async Task GenerateAsync_SameSeedAloneAndInBatch_GivesSameTokensAndLogProbs()
    {
        using var model = TestModels.Create(std: 0.1);
        using var engine = new InferenceEngine(model);
        var request = new GenerationRequest { PromptTokenIds = Prompt(5, 1), MaxNewTokens = 12, Seed = 42 };
        var alone = await engine.GenerateAsync(request);
        var again = await engine.GenerateAsync(request);

        var partners = Enumerable.Range(0, 3)
            .Select(i => engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3 + (4 * i), 10 + i), MaxNewTokens = 6 + (5 * i), Seed = i }))
            .ToList();
        var batched = await engine.GenerateAsync(request);
        await Task.WhenAll(partners);

        Assert.Equal(12, alone.TokenIds.Length);
        Assert.Equal(alone.TokenIds, again.TokenIds);
        Assert.Equal(alone.TokenIds, batched.TokenIds);
        for (var i = 0; i < alone.LogProbs.Length; i++)
        {
            Assert.Equal(alone.LogProbs[i], batched.LogProbs[i], 1e-4);
            Assert.Equal(alone.Entropies[i], batched.Entropies[i], 1e-4);
        }

        var otherSeed = await engine.GenerateAsync(request with { Seed = 43 });
        Assert.NotEqual(alone.TokenIds, otherSeed.TokenIds);
    }

    [Fact]
    public async Task GenerateAsync_SampledTokens_LogProbsMatchTrainingForward()
    {
        using var model = TestModels.Create(std: 0.1);
        var prompt = Prompt(6, 3);
        GenerationResult result;
        using (var engine = new InferenceEngine(model))
        {
            result = await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 10, Seed = 5 });
        }

        var sequence = new TrainingSequence([.. prompt, .. result.TokenIds]);
        var scores = PolicyForward.ScoreToArrays(model, [sequence])[0];
        for (var i = 0; i < result.TokenIds.Length; i++)
        {
            Assert.Equal(scores.LogProbs[prompt.Length - 1 + i], result.LogProbs[i], 1e-4);
            Assert.Equal(scores.Entropies[prompt.Length - 1 + i], result.Entropies[i], 1e-4);
        }
    }

    [Fact]
    public async Task GenerateAsync_StopTokenId_EndsAtThatToken()
    {
        using var model = TestModels.Create();
        using var engine = new InferenceEngine(model);
        var request = new GenerationRequest { PromptTokenIds = Prompt(4, 7), MaxNewTokens = 16, Temperature = 1.0, Seed = 3 };
        var free = await engine.GenerateAsync(request);
        var stopAt = Enumerable.Range(2, free.TokenIds.Length - 2).First(i => !free.TokenIds[..i].Contains(free.TokenIds[i]));

        var stopped = await engine.GenerateAsync(request with { StopTokenIds = [free.TokenIds[stopAt]] });

        Assert.Equal(FinishReason.StopToken, stopped.FinishReason);
        Assert.Equal(free.TokenIds[..(stopAt + 1)], stopped.TokenIds);
        Assert.Equal(FinishReason.Length, free.FinishReason);
    }

    [Fact]
    public async Task GenerateAsync_StopStringAcrossTokens_EndsAtTheTokenCompletingIt()
    {
        using var model = TestModels.Create();
        var decoder = new BracketDecoder();
        using var engine = new InferenceEngine(model, decoder: decoder);
        var request = new GenerationRequest { PromptTokenIds = Prompt(4, 8), MaxNewTokens = 16, Seed = 9 };
        var free = await engine.GenerateAsync(request);
        // A stop string spanning the boundary of generated tokens 3 and 4: "<id3>][<id4>".
        var stop = $"{free.TokenIds[3]}][{free.TokenIds[4]}";
        var expectedCount = Enumerable.Range(1, free.TokenIds.Length).First(n => decoder.Decode(free.TokenIds[..n]).Contains(stop, StringComparison.Ordinal));

        var stopped = await engine.GenerateAsync(request with { StopStrings = ["never-present", stop] });

        Assert.Equal(FinishReason.StopString, stopped.FinishReason);
        Assert.Equal(stop, stopped.StopMatch);
        Assert.Equal(free.TokenIds[..expectedCount], stopped.TokenIds);
        Assert.True(expectedCount <= 5);
    }

    [Fact]
    public async Task GenerateAsync_TemperatureZero_PicksArgMaxOfTheModel()
    {
        using var model = TestModels.Create();
        var prompt = Prompt(5, 11);
        GenerationResult result;
        using (var engine = new InferenceEngine(model))
        {
            result = await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 6, Temperature = 0 });
        }

        using var scope = NewDisposeScope();
        var tokens = prompt.Select(t => (long)t).ToList();
        foreach (var generated in result.TokenIds)
        {
            var logits = model.forward(tensor(tokens.ToArray(), [1, tokens.Count]));   // [1, seq, vocab]
            Assert.Equal(logits[0, -1].argmax().item<long>(), generated);
            tokens.Add(generated);
        }
    }

    [Fact]
    public async Task LoadWeightsAsync_NewWeights_ChangesVersionAndOutput()
    {
        using var model = TestModels.Create(seed: 1);
        using var other = TestModels.Create(seed: 2);
        var request = new GenerationRequest { PromptTokenIds = Prompt(5, 12), MaxNewTokens = 8, Temperature = 0 };
        GenerationResult expected;
        using (var reference = new InferenceEngine(other))
        {
            expected = await reference.GenerateAsync(request);
        }

        using var engine = new InferenceEngine(model, initialVersion: 3);
        var before = await engine.GenerateAsync(request);
        await engine.LoadWeightsAsync(4, other.state_dict());
        var after = await engine.GenerateAsync(request);

        Assert.Equal(4, engine.PolicyVersion);
        Assert.All(before.PolicyVersions, v => Assert.Equal(3, v));
        Assert.All(after.PolicyVersions, v => Assert.Equal(4, v));
        Assert.Equal(expected.TokenIds, after.TokenIds);
        Assert.NotEqual(before.TokenIds, after.TokenIds);
    }

    [Fact]
    public async Task GenerateAsync_CancelledMidway_ReturnsPartialTokensAsCancelled()
    {
        using var model = TestModels.Create(TestModels.Micro with { MaxPositionEmbeddings = 100_000 });
        using var engine = new InferenceEngine(model);
        using var cancellation = new CancellationTokenSource();
        var task = engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3, 1), MaxNewTokens = 50_000 }, cancellation.Token);
        await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3, 2), MaxNewTokens = 2 });   // the long one has tokens now
        await cancellation.CancelAsync();
        var result = await task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.InRange(result.TokenIds.Length, 1, 49_999);
        Assert.Equal(result.TokenIds.Length, result.LogProbs.Length);
    }

    [Fact]
    public async Task GenerateAsync_TopLogProbs_AreSortedAndContainTheGreedyToken()
    {
        using var model = TestModels.Create();
        using var engine = new InferenceEngine(model);
        var result = await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(4, 2), MaxNewTokens = 4, Temperature = 0, TopLogProbs = 5 });

        Assert.NotNull(result.TopLogProbs);
        for (var i = 0; i < result.TokenIds.Length; i++)
        {
            var top = result.TopLogProbs[i];
            Assert.Equal(5, top.Length);
            Assert.Equal(result.TokenIds[i], top[0].TokenId);
            Assert.Equal(result.LogProbs[i], top[0].LogProb, 1e-6);
            Assert.True(top.Zip(top.Skip(1)).All(pair => pair.First.LogProb >= pair.Second.LogProb));
        }
    }

    [Fact]
    public async Task GenerateAsync_PromptExtendingAFinishedSequence_ReusesItsCacheAndMatchesNoReuse()
    {
        using var model = TestModels.Create(std: 0.1);
        var prompt = Prompt(9, 21);
        var first = new GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 8, Seed = 1 };
        GenerationResult withReuse, withoutReuse;
        long reused;
        int[] branchPrompt;
        using (var engine = new InferenceEngine(model))
        {
            var parent = await engine.GenerateAsync(first);
            // A branch forked from the parent: its full trajectory plus a "tool result", then a mixed batch of newcomers.
            branchPrompt = [.. prompt, .. parent.TokenIds, 5, 6, 7];
            var other = engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(4, 3), MaxNewTokens = 5, Seed = 2 });
            withReuse = await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = branchPrompt, MaxNewTokens = 10, Seed = 3, TopK = 20 });
            await other;
            reused = engine.ReusedPromptTokens;
        }

        using (var engine = new InferenceEngine(model, options: new InferenceEngineOptions { PrefixCacheEntries = 0 }))
        {
            withoutReuse = await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = branchPrompt, MaxNewTokens = 10, Seed = 3, TopK = 20 });
            Assert.Equal(0, engine.ReusedPromptTokens);
        }

        Assert.Equal(prompt.Length + 7, reused);   // the parent's last token was sampled but never run through the model
        Assert.Equal(withoutReuse.TokenIds, withReuse.TokenIds);
        for (var i = 0; i < withReuse.LogProbs.Length; i++)
        {
            Assert.Equal(withoutReuse.LogProbs[i], withReuse.LogProbs[i], 1e-4);
        }
    }

    [Fact]
    public async Task LoadWeightsAsync_DuringGeneration_LaterTokensCarryTheNewVersion()
    {
        using var model = TestModels.Create(TestModels.Micro with { MaxPositionEmbeddings = 100_000 }, seed: 1);
        using var other = TestModels.Create(TestModels.Micro with { MaxPositionEmbeddings = 100_000 }, seed: 2);
        using var engine = new InferenceEngine(model, initialVersion: 1);
        using var cancellation = new CancellationTokenSource();
        var running = engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3, 4), MaxNewTokens = 50_000 }, cancellation.Token);
        await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3, 2), MaxNewTokens = 2 });   // the long one has tokens now
        await engine.LoadWeightsAsync(2, other.state_dict());
        await engine.GenerateAsync(new GenerationRequest { PromptTokenIds = Prompt(3, 2), MaxNewTokens = 2 });   // and some after the swap
        await cancellation.CancelAsync();
        var result = await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, result.PolicyVersions[0]);
        Assert.Equal(2, result.PolicyVersions[^1]);
        Assert.True(result.PolicyVersions.Zip(result.PolicyVersions.Skip(1)).All(p => p.First <= p.Second));
    }
}
