using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Model;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;
using static AgentRl.Policy.Tests.Trainer.TrainerFixtures;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Trainer;

/// <summary>Rollout-tree prefixes computed once: the packed forward and the trainer's gradients equal the unpacked ones.</summary>
public sealed class PrefixPackingTests
{
    /// <summary>
    /// g/0 (14 tokens) ← g/0.1 (fork 6, 12 tokens) ← g/0.1.1 (fork 9, 15 tokens); g/0 ← g/0.2 (fork 4, 10 tokens);
    /// h/0 (9 tokens) ← h/0.1 (fork 5, 11 tokens); g/1 (8 tokens, a root); g/9.1 whose parent is absent; g/0.3 whose
    /// tokens do not repeat its parent's up to its fork.
    /// </summary>
    private static TrainingExample[] TreeBatch(CausalLanguageModel model, int seed = 3)
    {
        var random = new Random(seed);
        var vocab = model.Config.VocabSize;
        int[] Tokens(int n) => [.. Enumerable.Range(0, n).Select(_ => random.Next(vocab))];
        int[] Continue(int[] parent, int fork, int length) => [.. parent.Take(fork), .. Tokens(length - fork)];
        var g0 = Tokens(14);
        var g01 = Continue(g0, 6, 12);
        var g011 = Continue(g01, 9, 15);
        var g02 = Continue(g0, 4, 10);
        var h0 = Tokens(9);
        var h01 = Continue(h0, 5, 11);
        var g03 = Continue(g0, 7, 13);
        g03[2] = (g03[2] + 1) % vocab;
        (string Key, string? Parent, int Fork, int[] Ids)[] specs =
        [
            ("g/0", null, 0, g0), ("g/0.1", "g/0", 6, g01), ("g/0.1.1", "g/0.1", 9, g011), ("g/0.2", "g/0", 4, g02),
            ("h/0", null, 0, h0), ("h/0.1", "h/0", 5, h01), ("g/1", null, 0, Tokens(8)), ("g/9.1", "g/9", 3, Tokens(7)),
            ("g/0.3", "g/0", 7, g03),
        ];
        var scores = PolicyForward.ScoreToArrays(model, [.. specs.Select(s => new TrainingSequence(s.Ids))]);
        return [.. specs.Select((s, i) =>
        {
            var mask = s.Ids.Select((_, t) => (byte)(t >= 2 && t % 5 != 0 ? 1 : 0)).ToArray();
            var old = new float[s.Ids.Length];
            for (var t = 1; t < old.Length; t++)
            {
                old[t] = mask[t] != 0 ? scores[i].LogProbs[t - 1] + (0.3f * (float)((random.NextDouble() * 2) - 1)) : 0f;
            }

            var example = new TrainingExample(s.Ids, mask, old) { Advantage = (float)((random.NextDouble() * 2) - 1), SequenceKey = s.Key, ParentKey = s.Parent, ForkPosition = s.Fork };
            // Per-token advantages on one path (as hard attribution gives), so shared tokens carry different values.
            return s.Key == "g/0.1" ? example with { TokenAdvantages = [.. s.Ids.Select(_ => (float)((random.NextDouble() * 2) - 1))] } : example;
        })];
    }

    [Fact]
    public void Families_ParentsBeforeChildren_BrokenLinksBecomeRoots()
    {
        var batch = TreeBatch(TestModels.Create());

        var families = PrefixPacking.Families(batch);

        var keys = families.Select(f => f.Select(i => batch[i].SequenceKey).ToArray()).ToList();
        Assert.Equal(5, keys.Count);
        Assert.Contains(["g/0", "g/0.1", "g/0.2", "g/0.1.1"], keys);
        Assert.Contains(["h/0", "h/0.1"], keys);
        Assert.Contains(["g/1"], keys);
        Assert.Contains(["g/9.1"], keys);
        Assert.Contains(["g/0.3"], keys);
        Assert.Equal(batch.Length, families.Sum(f => f.Length));
        Assert.Equal(14 + 6 + 6 + 6, PrefixPacking.PackedLength(batch, families.Single(f => f.Length == 4)));
    }

    [Fact]
    public void ScorePacked_EqualsTheUnpackedForward_ForEveryTokenOfEveryPath()
    {
        using var model = TestModels.Create();
        var batch = TreeBatch(model);
        var families = PrefixPacking.Families(batch);
        var order = families.SelectMany(f => f).ToArray();
        var sequences = batch.Select(e => new TrainingSequence(e.TokenIds)).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var micro = MicroBatch.Create(sequences, order);
        using var packed = PrefixPacking.Create(batch, [.. families], order, (int)micro.Columns);

        var plain = PolicyForward.Score(model, micro);
        var tree = PolicyForward.ScorePacked(model, packed, micro.Targets);

        var valid = micro.LossMask.gt(0);       // every real target (the sequences have no mask: all 1)
        var logProbDiff = (plain.LogProbs - tree.LogProbs).abs().masked_select(valid).max().item<float>();
        var entropyDiff = (plain.Entropies! - tree.Entropies!).abs().masked_select(valid).max().item<float>();
        Assert.True(logProbDiff < 1e-5, $"log-prob difference {logProbDiff}");
        Assert.True(entropyDiff < 1e-5, $"entropy difference {entropyDiff}");
        Assert.Equal(sequences.Sum(s => s.TokenIds.Count - 1), (int)valid.sum().item<long>());
        Assert.Equal(99, sequences.Sum(s => s.TokenIds.Count));
        Assert.Equal(14 + 6 + 6 + 6 + 9 + 6 + 8 + 7 + 13, packed.DistinctTokens);
        Assert.Equal(5 * 32, packed.ForwardTokens);
    }

    [Theory]
    [InlineData("grpo", 100_000)]
    [InlineData("grpo", 40)]
    [InlineData("aepo", 100_000)]
    public void ComputeGradients_WithPrefixesDeduplicated_EqualsOneRowPerPath(string algorithm, int tokenBudget)
    {
        var objective = algorithm == "aepo" ? null : AlgorithmRegistry.Objective(algorithm) with { EntropyCoeff = 0.01, ClipRatioLow = 0.1, ClipRatioHigh = 0.1 };
        TrainerOptions Options(bool dedup) => new() { Algorithm = algorithm, Objective = objective, TokenBudget = tokenBudget, DeduplicatePrefixes = dedup };
        using var packed = new PolicyTrainer(TestModels.Create(), Options(dedup: true));
        using var plain = new PolicyTrainer(TestModels.Create(), Options(dedup: false));
        ScaleWeights([packed, plain], 1.05);   // away from the reference, so a KL term has a gradient

        var batch = TreeBatch(plain.Model);
        var lossPacked = packed.ComputeGradients(batch);
        var gradsPacked = Gradients(packed);
        var lossPlain = plain.ComputeGradients(batch);
        var gradsPlain = Gradients(plain);

        Assert.Equal(lossPlain.Loss, lossPacked.Loss, 5);
        Assert.Equal(lossPlain.KlLoss, lossPacked.KlLoss, 5);
        Assert.Equal(lossPlain.PgClipFrac, lossPacked.PgClipFrac, 5);
        Assert.Equal(lossPlain.MeanEntropy, lossPacked.MeanEntropy, 5);
        Assert.True(Norm(gradsPlain.Values) > 1e-3);
        AssertGradientsClose(gradsPlain, gradsPacked);
    }

    [Theory]
    [InlineData(ProxLogprobMethod.Recompute)]
    [InlineData(ProxLogprobMethod.Loglinear)]
    public void DecoupledPpo_OnATreeWithTokenAdvantages_PackedEqualsOneRowPerPath_AndTrainStepRuns(ProxLogprobMethod method)
    {
        // Bounds that bind on the ±0.3 behaviour noise, so rejection sampling acts on shared and own tokens alike.
        var objective = new ObjectiveOptions { PolicyLoss = PolicyLossKind.DecoupledPpo, ProxLogprobs = method, RejectionUpper = 1.2, RejectionLower = 0.9 };
        TrainerOptions Options(bool dedup) => new() { Objective = objective, DeduplicatePrefixes = dedup, LearningRate = 1e-3 };
        using var packed = new PolicyTrainer(TestModels.Create(), Options(dedup: true));
        using var plain = new PolicyTrainer(TestModels.Create(), Options(dedup: false));
        packed.AdvanceVersion(3);
        plain.AdvanceVersion(3);
        // Generated tokens carry versions 0–3 (α = 3/4, 2/3, 1/2, 0 against v_prox = 3), the others −1.
        var batch = TreeBatch(plain.Model).Select(e => e with { TokenVersions = [.. e.LossMask.Select((m, t) => m != 0 ? (long)(t % 4) : -1L)] }).ToArray();

        var lossPacked = packed.ComputeGradients(batch);
        var gradsPacked = Gradients(packed);
        var lossPlain = plain.ComputeGradients(batch);
        var gradsPlain = Gradients(plain);

        Assert.Equal(lossPlain.Loss, lossPacked.Loss, 5);
        Assert.Equal(lossPlain.RejectedFrac, lossPacked.RejectedFrac, 5);
        Assert.Equal(lossPlain.BehaviourWeightMean, lossPacked.BehaviourWeightMean, 5);
        Assert.InRange(lossPacked.RejectedFrac, 0.01, 0.99);
        Assert.True(Norm(gradsPlain.Values) > 1e-3);
        AssertGradientsClose(gradsPlain, gradsPacked);

        var step = packed.TrainStep(batch);
        Assert.True(double.IsFinite(step.Loss) && step.GradNorm > 0, $"loss {step.Loss}, grad norm {step.GradNorm}");
        Assert.Equal(4, step.PolicyVersion);
        Assert.Equal(lossPacked.RejectedFrac, step.RejectedFrac!.Value, 5);
        Assert.True(step.BehaviourProxKl > 0);
    }
}
