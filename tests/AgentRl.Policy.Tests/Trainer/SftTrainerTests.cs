using System.Globalization;
using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Generation;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tests.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class SftTrainerTests
{
    private const string SystemPrompt = "Use python for arithmetic.";

    private static IReadOnlyList<ChatMessage> Arithmetic(int a, int b) =>
    [
        ChatMessage.System(SystemPrompt),
        ChatMessage.User($"What is {a}+{b}?"),
        ChatMessage.Assistant("", new ToolCall("python", $$"""{"code":"print({{a}}+{{b}})"}""")),
        ChatMessage.Tool("python", (a + b).ToString(CultureInfo.InvariantCulture)),
        ChatMessage.Assistant($"The answer is {a + b}."),
    ];

    /// <summary>Learning across initialisations: seeds 1–7 measured (issue "the same seed gives the same run"), 7/7 passed; three run here.</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Run_ArithmeticDemonstrations_LowersLossAndGreedyTurnCallsTool(int seed)
    {
        var tokenizer = new ByteLevelTokenizer();
        var template = ChatTemplates.Create(ChatTemplates.Compact, tokenizer);
        var pairs = new[] { (3, 4), (12, 7), (25, 17), (8, 9), (41, 2), (6, 30) };
        var demonstrations = pairs.Select(p => DemonstrationTokens.Build(template, Arithmetic(p.Item1, p.Item2), [Conversations.Python])).ToArray();
        var config = ModelConfig.Tiny;
        Assert.True(tokenizer.VocabSize <= config.VocabSize);
        var model = new CausalLanguageModel(config);
        model.InitializeWeights(seed: seed);
        using var trainer = new PolicyTrainer(model, new TrainerOptions { Algorithm = "dapo" });

        var steps = SftTrainer.Run(
            trainer,
            demonstrations,
            new SftOptions { Epochs = 25, BatchSize = 2, LearningRate = 3e-3, WarmupSteps = 5 });

        Assert.Equal(75, steps.Count);
        Assert.True(steps[^1].Loss < 0.1 * steps[0].Loss, $"loss {steps[0].Loss:F3} → {steps[^1].Loss:F3}");
        Assert.Equal(75, trainer.PolicyVersion);
        Assert.Equal(0, trainer.Optimizer.StepCount); // reset for RL

        using var inference = new CausalLanguageModel(config);
        var weights = trainer.ExportWeights();
        inference.LoadParameters(weights);
        foreach (var w in weights.Values)
        {
            w.Dispose();
        }
        using var engine = new InferenceEngine(inference);
        var prompt = template.Start(SystemPrompt, [Conversations.Python], "What is 12+7?");
        var result = await engine.GenerateAsync(new GenerationRequest
        {
            PromptTokenIds = prompt,
            MaxNewTokens = 60,
            Temperature = 0,
            StopTokenIds = template.StopTokenIds,
        });
        var text = tokenizer.Decode(result.TokenIds);
        Assert.StartsWith(CompactChatTemplate.ToolCallOpen + """{"name":"python","arguments":{"code":""", text);
        Assert.Equal(template.ToolCallEndId, result.TokenIds[^1]);
    }

    /// <summary>Cutting a batch of long and short rows in two changes only the order of the gradient's sums.</summary>
    [Fact]
    public void SftStep_CostPackingOfLongAndShortRows_SameLossAndWeightsAsOneMicroBatch()
    {
        var random = new Random(5);
        var batch = Enumerable.Range(0, 8).Select(i =>
        {
            var length = i < 4 ? 40 : 6;
            return new SftExample([.. Enumerable.Range(0, length).Select(_ => random.Next(1, 60))], [.. Enumerable.Range(0, length).Select(t => (byte)(t > 1 ? 1 : 0))]);
        }).ToArray();
        Assert.Equal(2, TokenBudgetBatcher.PackByCost([.. batch.Select(e => e.TokenIds.Length)], 4096, 64).Count);
        using var packed = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo" });
        using var whole = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo", SftMicroBatchOverheadTokens = 0 });

        var a = packed.SftStep(batch, 1e-2);
        var b = whole.SftStep(batch, 1e-2);

        Assert.Equal(b.Loss, a.Loss, 5);
        var left = packed.ExportWeights();
        var right = whole.ExportWeights();
        foreach (var (name, weight) in left)
        {
            Assert.True(weight.allclose(right[name], rtol: 1e-4, atol: 1e-6), name);
        }

        foreach (var weight in left.Values.Concat(right.Values))
        {
            weight.Dispose();
        }
    }

    [Fact]
    public void SftStep_MaskedTokensOnly_LossIgnoresUnmaskedTokens()
    {
        using var a = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo" });
        int[] ids = [1, 2, 3, 4, 5, 6, 7, 8];
        byte[] mask = [0, 0, 0, 1, 1, 0, 0, 0];
        var changedPrompt = ids.ToArray();
        changedPrompt[7] = 60; // after the last trained token: cannot influence the loss

        var first = a.SftStep([new SftExample(ids, mask)], learningRate: 0);
        var second = a.SftStep([new SftExample(changedPrompt, mask)], learningRate: 0);

        var scores = PolicyForward.ScoreToArrays(a.Model, [new TrainingSequence(ids)])[0];
        var expected = -(scores.LogProbs[2] + scores.LogProbs[3]) / 2;
        Assert.Equal(expected, first.Loss, 5);
        Assert.Equal(first.Loss, second.Loss, 6);
        Assert.Equal(2, first.LossTokens);
    }
    [Fact]
    public void SftStep_SmallTokenBudget_SameLossAndGradientNormAsOneBatch()
    {
        using var whole = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo", TokenBudget = 100_000, MaxGradNorm = 0 });
        using var split = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo", TokenBudget = 16, MaxGradNorm = 0 });
        var batch = TrainerFixtures.ToyBatch(whole.Model, count: 7).Select(e => new SftExample(e.TokenIds, e.LossMask)).ToArray();

        var a = whole.SftStep(batch, learningRate: 0);
        var b = split.SftStep(batch, learningRate: 0);

        Assert.Equal(a.Loss, b.Loss, 5);
        Assert.Equal(a.GradNorm, b.GradNorm, a.GradNorm * 1e-4);
        Assert.True(a.GradNorm > 0);
        Assert.Equal(batch.Sum(e => e.TrainableTokenCount), a.LossTokens);
    }
}
