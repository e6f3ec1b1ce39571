using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Algorithms;

public sealed class ResolvedAlgorithmTests
{
    public static TheoryData<string> AllNames => [.. AlgorithmRegistry.Names];

    private static Dictionary<string, string> Set(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    private static ArgumentException Refused(string algorithm, Dictionary<string, string>? objective = null, Dictionary<string, string>? trainer = null) =>
        Assert.Throws<ArgumentException>(() => ResolvedAlgorithm.Resolve(algorithm, objective, trainer, new TrainerOptions()));

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Resolve_EveryName_GivesThePresetValidated(string name)
    {
        var resolved = ResolvedAlgorithm.Resolve(name.ToUpperInvariant(), null, null, new TrainerOptions { LearningRate = 3e-4 }, groupSize: 8);

        Assert.Equal(name, resolved.Algorithm.Name);
        Assert.Equal(AlgorithmRegistry.Objective(name), resolved.Objective);
        Assert.Equal(name, resolved.Trainer.Algorithm);                      // the canonical name
        Assert.Equal(resolved.Objective, resolved.Trainer.Objective);
        Assert.Equal(resolved.Objective, resolved.Trainer.ResolveObjective());
        Assert.Equal(3e-4, resolved.Trainer.LearningRate);                  // run-level options kept
        Assert.Empty(resolved.Trainer.Problems());
        Assert.Equal("soft", resolved.Attribution);
        Assert.Equal(resolved.Algorithm.Branches, resolved.Branching is not null);
    }

    [Theory]
    [InlineData("arpo", "arpo", "fixed")]
    [InlineData("aepo", "aepo", "aepo-premonitor")]
    public void Resolve_BranchingAlgorithm_TakesTheRunsSettingsWithThePresetRule(string name, string policy, string allocator)
    {
        var resolved = ResolvedAlgorithm.Resolve(name, null, null, new TrainerOptions(), new BranchingSettings { Attribution = "hard", InitialTrajectories = 4 }, groupSize: 8);

        Assert.NotNull(resolved.Branching);
        Assert.Equal((policy, allocator, 4), (resolved.Branching.BranchPolicy, resolved.Branching.BudgetAllocator, resolved.Branching.InitialTrajectories));
        Assert.Equal("hard", resolved.Attribution);
    }

    [Fact]
    public void Resolve_PlainAlgorithmWithBranchingSettings_HasNoTreeAndSoftAttribution()
    {
        var resolved = ResolvedAlgorithm.Resolve("grpo", null, null, new TrainerOptions(), new BranchingSettings { Attribution = "hard", InitialTrajectories = 99 }, groupSize: 8);

        Assert.Null(resolved.Branching);
        Assert.Equal("soft", resolved.Attribution);
    }

    [Fact]
    public void Resolve_InvalidBranchingSettings_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => ResolvedAlgorithm.Resolve("aepo", null, null, new TrainerOptions(), new BranchingSettings { InitialTrajectories = 9, Attribution = "medium" }, groupSize: 8));

        Assert.Contains("invalid branching settings", e.Message);
        Assert.Contains("branching.initialTrajectories must be in [1, groupSize]", e.Message);
        Assert.Contains("branching.attribution must be soft or hard", e.Message);
    }

    [Fact]
    public void Resolve_Overrides_ApplyToTheObjectiveAndTrainer()
    {
        var resolved = ResolvedAlgorithm.Resolve(
            "dapo",
            Set(("clipRatioHigh", "0.3"), ("overlongBufferLength", "64"), ("filterGroups", "false"), ("lossScaleFactor", "null")),
            Set(("ppoEpochs", "2"), ("miniBatches", "4"), ("keepReferenceModel", "true"), ("schedule", "cosine")),
            new TrainerOptions { LearningRate = 3e-4, TokenBudget = 2048 });

        Assert.Equal(AlgorithmRegistry.Objective("dapo") with { ClipRatioHigh = 0.3, OverlongBufferLength = 64, FilterGroups = false }, resolved.Objective);
        Assert.Equal((2, 4, true, LearningRateScheduleKind.Cosine), (resolved.Trainer.PpoEpochs, resolved.Trainer.MiniBatches, resolved.Trainer.KeepReferenceModel, resolved.Trainer.Schedule));
        Assert.Equal((3e-4, 2048), (resolved.Trainer.LearningRate, resolved.Trainer.TokenBudget));
        Assert.Equal(0.28, AlgorithmRegistry.Objective("dapo").ClipRatioHigh);    // the preset itself is unchanged
        Assert.Equal("0.3", resolved.DescribeObjective()["clipRatioHigh"]);
        Assert.Equal("64", resolved.DescribeObjective()["overlongBufferLength"]);
        Assert.Equal("2", resolved.DescribeTrainer()["ppoEpochs"]);
    }

    [Fact]
    public void Resolve_EnumFields_TakeVerlNames()
    {
        var resolved = ResolvedAlgorithm.Resolve(
            "reinforce++",
            Set(("lossAggMode", "seq-mean-token-mean"), ("klLossType", "low_var_kl"), ("policyLoss", "entropy-balanced"), ("klInRewardType", "mse"), ("advantageEstimator", "rloo")),
            null,
            new TrainerOptions());

        Assert.Equal(LossAggMode.SeqMeanTokenMean, resolved.Objective.LossAggMode);
        Assert.Equal(KlEstimator.K3, resolved.Objective.KlLossType);           // the preset's k2 overridden
        Assert.Equal(PolicyLossKind.EntropyBalanced, resolved.Objective.PolicyLoss);
        Assert.Equal(KlEstimator.K2, resolved.Objective.KlInRewardType);
        Assert.Equal(AdvantageEstimator.Rloo, resolved.Objective.AdvantageEstimator);
        Assert.Equal("k3", resolved.DescribeObjective()["klLossType"]);
        Assert.Equal("entropy-balanced", resolved.DescribeObjective()["policyLoss"]);
    }

    [Fact]
    public void Resolve_UnknownAlgorithm_NamesTheKnownOnes()
    {
        var e = Refused("clip_cov");

        Assert.Contains("unknown algorithm 'clip_cov'", e.Message);
        Assert.Contains(string.Join(", ", AlgorithmRegistry.Names), e.Message);
    }

    [Fact]
    public void Resolve_UnknownKey_NamesItAndListsTheValidKeys()
    {
        var objective = Refused("grpo", objective: Set(("clipRatio", "0.3")));
        var trainer = Refused("grpo", trainer: Set(("ppoEpoch", "2")));

        Assert.StartsWith("objective.clipRatio: unknown key. Valid keys: ", objective.Message, StringComparison.Ordinal);
        Assert.Contains("clipRatioLow, clipRatioHigh, clipRatioC", objective.Message);
        Assert.Contains("entropyAdvantageAlpha", objective.Message);
        Assert.StartsWith("trainer.ppoEpoch: unknown key. Valid keys: ", trainer.Message, StringComparison.Ordinal);
        Assert.Contains("ppoEpochs", trainer.Message);
        Assert.Contains("keepReferenceModel", trainer.Message);
        Assert.DoesNotContain("learningRate", trainer.Message);   // a run-level field, not a trainer key
    }

    [Theory]
    [InlineData("learningRate", "learningRate")]
    [InlineData("LearningRate", "learningRate")]
    [InlineData("tokenBudget", "tokenBudget")]
    [InlineData("totalSteps", "steps")]
    [InlineData("seed", "seed")]
    [InlineData("algorithm", "algorithm")]
    public void Resolve_RunLevelTrainerKey_IsRefusedPointingToTheRunField(string key, string runField)
    {
        var e = Refused("grpo", trainer: Set((key, "1")));

        Assert.Equal($"trainer.{key}: set it as {runField} instead (the run configuration holds it).", e.Message);
    }

    [Theory]
    [InlineData("objective", "clipRatioHigh", "abc", "a number")]
    [InlineData("objective", "clipRatioHigh", "NaN", "a number")]
    [InlineData("objective", "useKlLoss", "maybe", "true or false")]
    [InlineData("objective", "maxNumGenBatches", "ten", "a whole number")]
    [InlineData("objective", "overlongBufferLength", "0.5", "a whole number")]
    [InlineData("objective", "lossAggMode", "nope", "one of token-mean, seq-mean-token-sum, seq-mean-token-mean, seq-mean-token-sum-norm")]
    [InlineData("objective", "policyLoss", "dapo", "one of vanilla, gspo, clip_cov, kl_cov, entropy-balanced, decoupled-ppo")]
    [InlineData("objective", "klLossType", "k4", "one of k1, abs, k2, k3, k1+, abs+, k3+")]
    [InlineData("trainer", "ppoEpochs", "1.5", "a whole number")]
    [InlineData("trainer", "ppoEpochs", "99999999999", "a whole number")]
    [InlineData("trainer", "schedule", "linear", "one of constant, cosine")]
    [InlineData("trainer", "keepReferenceModel", "yes", "true or false")]
    public void Resolve_UnparsableValue_NamesFieldValueAndExpectedType(string section, string key, string value, string expected)
    {
        var overrides = Set((key, value));
        var e = section == "objective" ? Refused("grpo", objective: overrides) : Refused("grpo", trainer: overrides);

        Assert.Equal($"{section}.{key}: '{value}' is not valid; expected {expected}.", e.Message);
    }

    [Theory]
    [InlineData("objective", "clipRatioC", "1", "objective.clipRatioC = 1 is outside the allowed range (1, ∞)")]
    [InlineData("objective", "klLossCoef", "-0.5", "objective.klLossCoef = -0.5 is outside the allowed range [0, ∞)")]
    [InlineData("objective", "overlongBufferLength", "-3", "objective.overlongBufferLength = -3 is outside the allowed range (0, ∞)")]
    [InlineData("trainer", "ppoEpochs", "0", "trainer.ppoEpochs = 0 is outside the allowed range [1, ∞)")]
    [InlineData("trainer", "beta1", "1", "trainer.beta1 = 1 is outside the allowed range [0, 1)")]
    [InlineData("trainer", "minLearningRateRatio", "1.5", "trainer.minLearningRateRatio = 1.5 is outside the allowed range [0, 1]")]
    public void Resolve_ValueOutOfRange_NamesFieldValueAndRange(string section, string key, string value, string expected)
    {
        var overrides = Set((key, value));
        var e = section == "objective" ? Refused("grpo", objective: overrides) : Refused("grpo", trainer: overrides);

        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"invalid {section} options: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_SeveralProblems_ReportsThemAll()
    {
        var e = Refused("gspo", objective: Set(("clipRatioC", "0.5"), ("lossAggMode", "token-mean")));

        Assert.Contains("objective.clipRatioC = 0.5 is outside the allowed range (1, ∞)", e.Message);
        Assert.Contains("gspo requires lossAggMode seq-mean-token-mean", e.Message);
    }

    [Fact]
    public void DescribeTrainer_ListsTheTrainerKeysWithoutRunLevelFields()
    {
        var resolved = ResolvedAlgorithm.Resolve("grpo", null, null, new TrainerOptions());
        var keys = resolved.DescribeTrainer().Keys;

        Assert.Contains("ppoEpochs", keys);
        Assert.Contains("keepReferenceModel", keys);
        Assert.Equal("null", resolved.DescribeTrainer()["keepReferenceModel"]);
        Assert.DoesNotContain("learningRate", keys);
        Assert.DoesNotContain("tokenBudget", keys);
        Assert.DoesNotContain("totalSteps", keys);
        Assert.DoesNotContain("seed", keys);
        Assert.DoesNotContain("algorithm", keys);
    }

    [Fact]
    public void ForRun_FilterGroupsWithUnlimitedBatches_IsRefused_ALimitOrThePresetIsNot()
    {
        // A run's step reserves its generation batches' prompts in the training stream: unlimited batches would take the
        // next steps' prompts (and a swarm's fill-up reserve), training items twice.
        var unlimited = new AgentRl.Abstractions.Training.RunConfig { Algorithm = "grpo", Objective = new Dictionary<string, string> { ["filterGroups"] = "true" } };
        Assert.Contains("maxNumGenBatches", Assert.Throws<ArgumentException>(() => ResolvedAlgorithm.ForRun(unlimited)).Message, StringComparison.Ordinal);

        var limited = unlimited with { Objective = new Dictionary<string, string> { ["filterGroups"] = "true", ["maxNumGenBatches"] = "3" } };
        Assert.Equal(3, ResolvedAlgorithm.ForRun(limited).Objective.MaxNumGenBatches);
        Assert.True(ResolvedAlgorithm.ForRun(new AgentRl.Abstractions.Training.RunConfig { Algorithm = "dapo" }).Objective.FilterGroups);
    }
}
