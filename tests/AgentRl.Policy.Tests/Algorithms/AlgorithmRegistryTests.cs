using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Algorithms;

public sealed class AlgorithmRegistryTests
{
    public static TheoryData<string> AllNames => [.. AlgorithmRegistry.Names];

    [Fact]
    public void Names_AreTheTenAlgorithmsInDocOrder()
    {
        Assert.Equal(["grpo", "drgrpo", "rloo", "reinforce++", "dapo", "gspo", "clip-cov", "kl-cov", "arpo", "aepo"], AlgorithmRegistry.Names);
        Assert.Equal(AlgorithmRegistry.Names, AlgorithmRegistry.All.Select(a => a.Name));
        Assert.All(AlgorithmRegistry.All, a => Assert.False(string.IsNullOrWhiteSpace(a.Summary)));
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Get_EveryName_ValidatesAndMatchesTheTrainerPreset(string name)
    {
        var entry = AlgorithmRegistry.Get(name);

        Assert.Equal(name, entry.Name);
        Assert.Empty(entry.Objective.Problems());
        Assert.Same(entry.Objective, AlgorithmRegistry.Objective(name));
        Assert.Equal(entry.Objective, new TrainerOptions { Algorithm = name }.ResolveObjective());
        Assert.Empty(new TrainerOptions { Algorithm = name }.Problems());
    }

    [Fact]
    public void Get_IsCaseInsensitiveAndTrims()
    {
        Assert.Equal("reinforce++", AlgorithmRegistry.Get(" Reinforce++ ").Name);
        Assert.Equal("clip-cov", AlgorithmRegistry.Get("CLIP-COV").Name);
        Assert.Null(AlgorithmRegistry.TryGet(null));
        Assert.Null(AlgorithmRegistry.TryGet("ppo"));
    }

    [Theory]
    [InlineData("ppo-but-misspelt")]
    [InlineData("clip_cov")]           // a policy-loss name, no longer an algorithm
    [InlineData("kl_cov")]
    [InlineData("dr_grpo")]            // no aliases
    [InlineData("reinforce_plus_plus_baseline")]
    [InlineData("")]
    public void Get_UnknownName_ThrowsNamingEveryKnownOne(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => AlgorithmRegistry.Get(name));

        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains("Known: grpo, drgrpo, rloo, reinforce++, dapo, gspo, clip-cov, kl-cov, arpo, aepo.", e.Message);
        Assert.Throws<ArgumentException>(() => AlgorithmRegistry.Objective(name));
    }

    [Fact]
    public void Presets_SetEstimatorLossModeAggregationKlAndClips()
    {
        var grpo = AlgorithmRegistry.Objective("grpo");
        Assert.Equal((AdvantageEstimator.Grpo, true, KlEstimator.K3, 0.001), (grpo.AdvantageEstimator, grpo.UseKlLoss, grpo.KlLossType, grpo.KlLossCoef));
        Assert.Equal((0.2, 0.2, 3.0, LossAggMode.TokenMean), (grpo.ClipRatioLow, grpo.ClipRatioHigh, grpo.ClipRatioC, grpo.LossAggMode));

        var drgrpo = AlgorithmRegistry.Objective("drgrpo");
        Assert.Equal((AdvantageEstimator.DrGrpo, LossAggMode.SeqMeanTokenSumNorm, false), (drgrpo.AdvantageEstimator, drgrpo.LossAggMode, drgrpo.UseKlLoss));

        var rloo = AlgorithmRegistry.Objective("rloo");
        Assert.Equal((AdvantageEstimator.Rloo, false, true), (rloo.AdvantageEstimator, rloo.UseKlLoss, rloo.UseKlInReward));
        Assert.Equal((KlEstimator.K1, 0.001, false), (rloo.KlInRewardType, rloo.KlCtrlCoef, rloo.KlCtrlAdaptive));
        Assert.IsType<FixedKlController>(rloo.CreateKlController());
        Assert.IsType<AdaptiveKlController>((rloo with { KlCtrlAdaptive = true }).CreateKlController());

        var reinforce = AlgorithmRegistry.Objective("reinforce++");
        Assert.Equal((AdvantageEstimator.ReinforcePlusPlusBaseline, true, KlEstimator.K2, 0.001), (reinforce.AdvantageEstimator, reinforce.UseKlLoss, reinforce.KlLossType, reinforce.KlLossCoef));

        var dapo = AlgorithmRegistry.Objective("dapo");
        Assert.Equal((0.2, 0.28, LossAggMode.TokenMean, false), (dapo.ClipRatioLow, dapo.ClipRatioHigh, dapo.LossAggMode, dapo.UseKlLoss));
        Assert.Equal((true, 10, true), (dapo.FilterGroups, dapo.MaxNumGenBatches, dapo.OverlongBuffer));
        Assert.Null(dapo.OverlongBufferLength);    // a fifth of the max response length

        var gspo = AlgorithmRegistry.Objective("gspo");
        Assert.Equal((PolicyLossKind.Gspo, LossAggMode.SeqMeanTokenMean, 3e-4, 4e-4, false), (gspo.PolicyLoss, gspo.LossAggMode, gspo.ClipRatioLow, gspo.ClipRatioHigh, gspo.UseKlLoss));

        var clipCov = AlgorithmRegistry.Objective("clip-cov");
        Assert.Equal((PolicyLossKind.ClipCov, 1.0, 1.0, 10.0), (clipCov.PolicyLoss, clipCov.ClipRatioLow, clipCov.ClipRatioHigh, clipCov.ClipRatioC));
        Assert.Equal((true, 10, false, false), (clipCov.FilterGroups, clipCov.MaxNumGenBatches, clipCov.OverlongBuffer, clipCov.UseKlLoss));

        var klCov = AlgorithmRegistry.Objective("kl-cov");
        Assert.Equal((PolicyLossKind.KlCov, 0.2, 0.28, true, false), (klCov.PolicyLoss, klCov.ClipRatioLow, klCov.ClipRatioHigh, klCov.FilterGroups, klCov.OverlongBuffer));

        Assert.Equal(new ObjectiveOptions(), AlgorithmRegistry.Objective("arpo"));   // the ARPO scripts' GRPO objective, no KL

        Assert.Equal(new ObjectiveOptions { PolicyLoss = PolicyLossKind.EntropyBalanced, EntropyAdvantageAlpha = 0.2 }, AlgorithmRegistry.Objective("aepo"));
    }

    [Theory]
    [InlineData("arpo", "arpo", "fixed")]
    [InlineData("aepo", "aepo", "aepo-premonitor")]
    public void BranchingAlgorithms_FillTheirForkRuleAndAllocator(string name, string policy, string allocator)
    {
        var entry = AlgorithmRegistry.Get(name);

        Assert.True(entry.Branches);
        Assert.Equal((policy, allocator), (entry.BranchPolicy, entry.BudgetAllocator));
        var filled = entry.BranchingFor(new BranchingSettings { Tau = 0.7, Attribution = "hard" })!;
        Assert.Equal((policy, allocator, 0.7, "hard"), (filled.BranchPolicy, filled.BudgetAllocator, filled.Tau, filled.Attribution));
        // A run's own choice wins over the preset.
        var own = entry.BranchingFor(new BranchingSettings { BranchPolicy = "arpo-threshold", BudgetAllocator = "fixed" })!;
        Assert.Equal(("arpo-threshold", "fixed"), (own.BranchPolicy, own.BudgetAllocator));
    }

    [Theory]
    [InlineData("grpo")]
    [InlineData("drgrpo")]
    [InlineData("rloo")]
    [InlineData("reinforce++")]
    [InlineData("dapo")]
    [InlineData("gspo")]
    [InlineData("clip-cov")]
    [InlineData("kl-cov")]
    public void PlainAlgorithms_DoNotBranch(string name)
    {
        var entry = AlgorithmRegistry.Get(name);

        Assert.False(entry.Branches);
        Assert.Null(entry.BranchPolicy);
        Assert.Null(entry.BudgetAllocator);
        Assert.Null(entry.BranchingFor(new BranchingSettings { BranchPolicy = "arpo" }));
    }

    [Fact]
    public void OnlyArpoAndAepoBranch()
    {
        Assert.Equal(["arpo", "aepo"], AlgorithmRegistry.All.Where(a => a.Branches).Select(a => a.Name));
    }
}
