using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Configuration;
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
        Assert.Equal(((int?)null, 1.0), (o.OverlongBufferLength, o.OverlongPenaltyFactor));
        Assert.Equal((false, 0, false), (o.FilterGroups, o.MaxNumGenBatches, o.OverlongBuffer));
        Assert.Equal((false, KlEstimator.K1, 0.001, false), (o.UseKlInReward, o.KlInRewardType, o.KlCtrlCoef, o.KlCtrlAdaptive));
        Assert.Equal(0.0, o.EntropyAdvantageAlpha);
    }

    [Fact]
    public void Validate_Defaults_HasNoProblems()
    {
        var o = new ObjectiveOptions();
        Assert.Empty(o.Problems());
        Assert.Same(o, o.Validate());
    }

    [Fact]
    public void Validate_InvalidCombinations_Throw()
    {
        var dual = Assert.Throws<ArgumentException>(() => new ObjectiveOptions { ClipRatioC = 1.0 }.Validate());
        Assert.Contains("objective.clipRatioC = 1 is outside the allowed range (1, ∞)", dual.Message);
        var gspo = Assert.Throws<ArgumentException>(() => (AlgorithmRegistry.Objective("gspo") with { LossAggMode = LossAggMode.TokenMean }).Validate());
        Assert.Contains("gspo requires lossAggMode seq-mean-token-mean", gspo.Message);
        Assert.Contains("not token-mean", gspo.Message);
        var balanced = Assert.Throws<ArgumentException>(() => new ObjectiveOptions { PolicyLoss = PolicyLossKind.EntropyBalanced, ClipRatioLow = 1.0 }.Validate());
        Assert.Contains("entropy-balanced needs clipRatioLow < 1", balanced.Message);
        var bounds = Assert.Throws<ArgumentException>(() => new ObjectiveOptions { ClipCovLowerBound = 5, ClipCovUpperBound = 5 }.Validate());
        Assert.Contains("clipCovLowerBound (5) must be below clipCovUpperBound (5)", bounds.Message);
    }

    [Fact]
    public void Validate_SeveralProblems_ListsEveryOneWithFieldValueAndRange()
    {
        var options = new ObjectiveOptions
        {
            ClipRatioLow = -0.1,
            AdvantageEpsilon = 0,
            KlLossCoef = double.NaN,
            OverlongBufferLength = 0,
            LossScaleFactor = -2,
            MaxNumGenBatches = -1,
            EntropyAdvantageAlpha = -0.5,
        };

        var problems = options.Problems().ToList();
        var e = Assert.Throws<ArgumentException>(() => options.Validate());

        string[] expected =
        [
            "clipRatioLow = -0.1 is outside the allowed range [0, ∞)",
            "advantageEpsilon = 0 is outside the allowed range (0, ∞)",
            "klLossCoef = NaN is outside the allowed range [0, ∞)",
            "overlongBufferLength = 0 is outside the allowed range (0, ∞)",
            "lossScaleFactor = -2 is outside the allowed range (0, ∞)",
            "maxNumGenBatches = -1 is outside the allowed range [0, ∞)",
            "entropyAdvantageAlpha = -0.5 is outside the allowed range [0, ∞)",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), problems.Order(StringComparer.Ordinal));
        Assert.StartsWith("invalid objective options: ", e.Message, StringComparison.Ordinal);
        Assert.All(expected, p => Assert.Contains("objective." + p, e.Message));
    }

    [Fact]
    public void DecoupledPpoFields_Defaults_AreAReaLsTokenMaskAtFiveWithRecompute()
    {
        var o = new ObjectiveOptions();
        Assert.Equal((RejectionLevel.Token, RejectionAction.Mask, 5.0, (double?)null), (o.RejectionLevel, o.RejectionAction, o.RejectionUpper, o.RejectionLower));
        Assert.Equal(ProxLogprobMethod.Recompute, o.ProxLogprobs);
        Assert.Empty((o with { PolicyLoss = PolicyLossKind.DecoupledPpo, RejectionLower = 0.5, RejectionUpper = 2 }).Problems());
    }

    [Fact]
    public void Validate_DecoupledPpoFields_NameTheFieldTheValueAndTheRange()
    {
        var problems = new ObjectiveOptions
        {
            RejectionUpper = 1.0,
            RejectionLower = 0,
            RejectionLevel = (RejectionLevel)7,
            RejectionAction = (RejectionAction)9,
            ProxLogprobs = (ProxLogprobMethod)5,
        }.Problems().ToList();

        Assert.Contains("rejectionUpper = 1 is outside the allowed range (1, ∞)", problems);
        Assert.Contains("rejectionLower = 0 is outside the allowed range (0, ∞)", problems);
        Assert.Contains("rejectionLevel = 7 is not one of token, sequence, none", problems);
        Assert.Contains("rejectionAction = 9 is not one of mask, clamp", problems);
        Assert.Contains("proxLogprobs = 5 is not one of recompute, loglinear", problems);
        Assert.Equal(5, problems.Count);
        var bounds = Assert.Throws<ArgumentException>(() => new ObjectiveOptions { RejectionLower = 6 }.Validate());
        Assert.Contains("objective.rejectionLower (6) must be below rejectionUpper (5)", bounds.Message);
    }

    [Fact]
    public void Bind_DecoupledPpoFields_TakeTheirNames_AndRefuseOthersNamingTheField()
    {
        var bound = OptionsBinder.Bind(new ObjectiveOptions(), new Dictionary<string, string>
        {
            ["policyLoss"] = "decoupled-ppo",
            ["rejectionLevel"] = "sequence",
            ["rejectionAction"] = "clamp",
            ["rejectionUpper"] = "2.5",
            ["rejectionLower"] = "0.4",
            ["proxLogprobs"] = "loglinear",
        }, "objective");

        Assert.Equal(
            (PolicyLossKind.DecoupledPpo, RejectionLevel.Sequence, RejectionAction.Clamp, 2.5, (double?)0.4, ProxLogprobMethod.Loglinear),
            (bound.PolicyLoss, bound.RejectionLevel, bound.RejectionAction, bound.RejectionUpper, bound.RejectionLower, bound.ProxLogprobs));
        Assert.Equal("loglinear", OptionsBinder.Describe(bound)["proxLogprobs"]);
        var level = Assert.Throws<ArgumentException>(() => OptionsBinder.Bind(new ObjectiveOptions(), new Dictionary<string, string> { ["rejectionLevel"] = "tokens" }, "objective"));
        Assert.Equal("objective.rejectionLevel: 'tokens' is not valid; expected one of token, sequence, none.", level.Message);
        var prox = Assert.Throws<ArgumentException>(() => OptionsBinder.Bind(new ObjectiveOptions(), new Dictionary<string, string> { ["proxLogprobs"] = "metrics" }, "objective"));
        Assert.Equal("objective.proxLogprobs: 'metrics' is not valid; expected one of recompute, loglinear.", prox.Message);
    }

    [Fact]
    public void OverlongBufferLength_DefaultsToNullAndAnyPositiveValueIsValid()
    {
        Assert.Null(new ObjectiveOptions().OverlongBufferLength);
        Assert.Empty(new ObjectiveOptions { OverlongBuffer = true }.Problems());
        Assert.Empty(new ObjectiveOptions { OverlongBuffer = true, OverlongBufferLength = 1 }.Problems());
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
