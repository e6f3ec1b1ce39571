using AgentRl.Abstractions.Configuration;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Configuration;

/// <summary>The one validation style: <c>Problems()</c> names field (camelCase), value and range; <c>Validate()</c> throws them all.</summary>
public sealed class OptionValidationTests
{
    [Fact]
    public void TrainerOptions_Defaults_AreValid()
    {
        var options = new TrainerOptions();

        Assert.Empty(options.Problems());
        Assert.Same(options, options.Validate());
    }

    [Fact]
    public void TrainerOptions_SeveralProblems_ListsEveryOneWithFieldValueAndRange()
    {
        var options = new TrainerOptions
        {
            LearningRate = -1,
            WeightDecay = -0.5,
            Beta1 = 1,
            Beta2 = -0.1,
            Epsilon = 0,
            WarmupSteps = -2,
            TotalSteps = 0,
            MinLearningRateRatio = 1.5,
            MaxGradNorm = double.PositiveInfinity,
            TokenBudget = 0,
            PpoEpochs = 0,
            MiniBatches = -1,
        };

        var e = Assert.Throws<ArgumentException>(() => options.Validate());

        string[] expected =
        [
            "trainer.learningRate = -1 is outside the allowed range [0, ∞)",
            "trainer.weightDecay = -0.5 is outside the allowed range [0, ∞)",
            "trainer.beta1 = 1 is outside the allowed range [0, 1)",
            "trainer.beta2 = -0.1 is outside the allowed range [0, 1)",
            "trainer.epsilon = 0 is outside the allowed range (0, ∞)",
            "trainer.warmupSteps = -2 is outside the allowed range [0, ∞)",
            "trainer.totalSteps = 0 is outside the allowed range [1, ∞)",
            "trainer.minLearningRateRatio = 1.5 is outside the allowed range [0, 1]",
            "trainer.maxGradNorm = Infinity must be a finite number",
            "trainer.tokenBudget = 0 is outside the allowed range [1, ∞)",
            "trainer.ppoEpochs = 0 is outside the allowed range [1, ∞)",
            "trainer.miniBatches = -1 is outside the allowed range [1, ∞)",
        ];
        Assert.Equal(expected.Length, options.Problems().Count());
        Assert.StartsWith("invalid trainer options: ", e.Message, StringComparison.Ordinal);
        Assert.All(expected, p => Assert.Contains(p, e.Message));
    }

    [Fact]
    public void TrainerOptions_NegativeMaxGradNorm_IsValid_ItDisablesClipping()
    {
        Assert.Empty(new TrainerOptions { MaxGradNorm = -1 }.Problems());
        Assert.Empty(new TrainerOptions { MaxGradNorm = 0 }.Problems());
    }

    [Fact]
    public void TrainerOptions_ObjectiveProblems_AreReportedUnderObjective()
    {
        var options = new TrainerOptions { Beta1 = 2, Objective = new ObjectiveOptions { ClipRatioC = 0.5 } };

        var e = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains("trainer.beta1 = 2 is outside the allowed range [0, 1)", e.Message);
        Assert.Contains("trainer.objective.clipRatioC = 0.5 is outside the allowed range (1, ∞)", e.Message);
    }

    [Fact]
    public void TrainerOptions_ObjectiveCombinationProblems_AreReportedUnderObjective()
    {
        // The gspo preset is valid; an explicit GSPO objective with the default token-mean is not (ALGORITHMS.md §3.3).
        Assert.Empty(new TrainerOptions { Algorithm = "gspo" }.Problems());
        var e = Assert.Throws<ArgumentException>(() => new TrainerOptions { Algorithm = "gspo", Objective = new ObjectiveOptions { PolicyLoss = PolicyLossKind.Gspo } }.Validate());
        Assert.Contains("trainer.objective.policyLoss gspo requires lossAggMode seq-mean-token-mean", e.Message);
    }

    [Fact]
    public void TrainerOptions_UnknownAlgorithm_IsAProblemUnlessAnObjectiveIsGiven()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainerOptions { Algorithm = "ppo" }.Validate());

        Assert.Contains("trainer.algorithm 'ppo' is unknown (known: grpo, drgrpo, rloo, reinforce++, dapo, gspo, clip-cov, kl-cov, arpo, aepo)", e.Message);
        Assert.Empty(new TrainerOptions { Algorithm = "ppo", Objective = new ObjectiveOptions() }.Problems());
    }

    [Fact]
    public void PolicyTrainer_InvalidOptions_ThrowsBeforeBuilding()
    {
        using var model = TestModels.Create();

        var e = Assert.Throws<ArgumentException>(() => new PolicyTrainer(model, new TrainerOptions { PpoEpochs = 0 }));

        Assert.Contains("trainer.ppoEpochs = 0", e.Message);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(1e-12, true)]
    [InlineData(double.NaN, false)]
    [InlineData(double.PositiveInfinity, false)]
    public void OptionChecks_Positive_OpenAtZeroAndFinite(double value, bool valid)
    {
        var check = new OptionChecks();
        check.Positive("Field", value);
        Assert.Equal(valid, check.Problems.Count == 0);
    }

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(0.999, true)]
    [InlineData(1.0, false)]
    [InlineData(-1e-9, false)]
    public void OptionChecks_HalfOpen_IncludesMinExcludesMax(double value, bool valid)
    {
        var check = new OptionChecks();
        check.HalfOpen("Field", value, 0, 1);
        Assert.Equal(valid, check.Problems.Count == 0);
    }

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(1.0, true)]
    [InlineData(1.0000001, false)]
    [InlineData(double.NaN, false)]
    public void OptionChecks_Between_IsClosed(double value, bool valid)
    {
        var check = new OptionChecks();
        check.Between("Field", value, 0, 1);
        Assert.Equal(valid, check.Problems.Count == 0);
    }

    [Fact]
    public void OptionChecks_Messages_NameTheFieldInCamelCaseWithValueAndRange()
    {
        var check = new OptionChecks();
        check.Above("ClipRatioC", 0.75, 1);
        check.AtLeast("PpoEpochs", 0, 1);
        check.Finite("EntropyCoeff", double.NaN);

        Assert.Equal(
            [
                "clipRatioC = 0.75 is outside the allowed range (1, ∞)",
                "ppoEpochs = 0 is outside the allowed range [1, ∞)",
                "entropyCoeff = NaN must be a finite number",
            ],
            check.Problems);
        var e = Assert.Throws<ArgumentException>(() => OptionChecks.ThrowIfAny("x", check.Problems, "demo"));
        Assert.Equal("invalid demo options: demo.clipRatioC = 0.75 is outside the allowed range (1, ∞); demo.ppoEpochs = 0 is outside the allowed range [1, ∞); demo.entropyCoeff = NaN must be a finite number", e.Message);
        Assert.Equal("x", OptionChecks.ThrowIfAny("x", [], "demo"));
        Assert.Equal("clipRatioC", OptionChecks.Camel("ClipRatioC"));
        Assert.Equal("", OptionChecks.Camel(""));
    }
}
