using AgentRl.Policy.Objectives;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class ObjectiveOptionsTests
{
    [Fact]
    public void Defaults_MatchVerlActorYaml()
    {
        var o = new ObjectiveOptions();
        Assert.Equal((0.2, 0.2, 3.0), (o.ClipRatioLow, o.ClipRatioHigh, o.ClipRatioC));
        Assert.Equal(LossAggMode.TokenMean, o.LossAggMode);
        Assert.Equal(PolicyLossKind.Vanilla, o.PolicyLoss);
        Assert.Equal((false, 0.001, KlEstimator.K3, 0.0), (o.UseKlLoss, o.KlLossCoef, o.KlLossType, o.EntropyCoeff));
        Assert.Equal((2e-4, 1.0, 5.0, 2e-4), (o.ClipCovRatio, o.ClipCovLowerBound, o.ClipCovUpperBound, o.KlCovRatio));
        Assert.Equal((4096, 1.0), (o.OverlongBufferLength, o.OverlongPenaltyFactor));
    }

    [Fact]
    public void ForAlgorithm_Presets_SetEstimatorLossModeAggregationAndClips()
    {
        var grpo = ObjectiveOptions.ForAlgorithm("grpo");
        Assert.Equal((AdvantageEstimator.Grpo, true, KlEstimator.K3), (grpo.AdvantageEstimator, grpo.UseKlLoss, grpo.KlLossType));

        var drgrpo = ObjectiveOptions.ForAlgorithm("drgrpo");
        Assert.Equal((AdvantageEstimator.DrGrpo, LossAggMode.SeqMeanTokenSumNorm), (drgrpo.AdvantageEstimator, drgrpo.LossAggMode));

        var rloo = ObjectiveOptions.ForAlgorithm("rloo");
        Assert.Equal((AdvantageEstimator.Rloo, false, true), (rloo.AdvantageEstimator, rloo.UseKlLoss, rloo.UseKlInReward));
        Assert.IsType<FixedKlController>(rloo.CreateKlController());
        Assert.IsType<AdaptiveKlController>((rloo with { KlCtrlAdaptive = true }).CreateKlController());
        Assert.Equal(AdvantageEstimator.ReinforcePlusPlusBaseline, ObjectiveOptions.ForAlgorithm("reinforce++").AdvantageEstimator);

        var dapo = ObjectiveOptions.ForAlgorithm("dapo");
        Assert.Equal((0.2, 0.28, LossAggMode.TokenMean, false), (dapo.ClipRatioLow, dapo.ClipRatioHigh, dapo.LossAggMode, dapo.UseKlLoss));
        Assert.True(dapo.FilterGroups && dapo.OverlongBuffer);

        var gspo = ObjectiveOptions.ForAlgorithm("gspo");
        Assert.Equal((PolicyLossKind.Gspo, LossAggMode.SeqMeanTokenMean, 3e-4, 4e-4), (gspo.PolicyLoss, gspo.LossAggMode, gspo.ClipRatioLow, gspo.ClipRatioHigh));

        foreach (var name in ObjectiveOptions.AlgorithmNames)
        {
            ObjectiveOptions.ForAlgorithm(name).Validate();
        }
    }

    [Fact]
    public void Validate_InvalidCombinations_Throw()
    {
        Assert.Throws<ArgumentException>(() => new ObjectiveOptions { ClipRatioC = 1.0 }.Validate());
        Assert.Throws<ArgumentException>(() => (ObjectiveOptions.ForAlgorithm("gspo") with { LossAggMode = LossAggMode.TokenMean }).Validate());
        Assert.Throws<ArgumentException>(() => ObjectiveOptions.ForAlgorithm("ppo-but-misspelt"));
    }

    [Fact]
    public void ObjectiveNames_EveryValue_RoundTripsThroughItsName()
    {
        foreach (var v in Enum.GetValues<AdvantageEstimator>())
        {
            Assert.Equal(v, ObjectiveNames.ParseAdvantageEstimator(ObjectiveNames.Name(v)));
        }
        foreach (var v in Enum.GetValues<PolicyLossKind>())
        {
            Assert.Equal(v, ObjectiveNames.ParsePolicyLoss(ObjectiveNames.Name(v)));
        }
        foreach (var v in Enum.GetValues<LossAggMode>())
        {
            Assert.Equal(v, ObjectiveNames.ParseLossAggMode(ObjectiveNames.Name(v)));
        }
        foreach (var v in Enum.GetValues<KlEstimator>())
        {
            Assert.Equal(v, ObjectiveNames.ParseKlEstimator(ObjectiveNames.Name(v)));
        }
        Assert.Throws<ArgumentException>(() => ObjectiveNames.ParsePolicyLoss("dapo"));
    }
}
