using System.Reflection;
using AgentRl.Abstractions.Configuration;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Configuration;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Configuration;

public sealed class OptionsBinderTests
{
    public static TheoryData<string> AllNames => [.. AlgorithmRegistry.Names];

    /// <summary>Every public instance property, by reflection independent of the binder's own filter.</summary>
    private static List<PropertyInfo> PublicProperties<T>() =>
        [.. typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken)];

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    /// <summary>
    /// A copy of <paramref name="defaults"/> with every public property except <paramref name="skip"/> set to a value that
    /// differs from its default. Fails for a property the binder could not carry: not settable, or of a type this test
    /// has no value for (the binder binds numbers, bools, enums, strings and nullables of those).
    /// </summary>
    private static T EveryFieldChanged<T>(T defaults, params string[] skip)
        where T : class
    {
        var copy = (T)typeof(T).GetMethod("<Clone>$")!.Invoke(defaults, null)!;
        var index = 0;
        foreach (var property in PublicProperties<T>().Where(p => !skip.Contains(p.Name)))
        {
            Assert.True(property.SetMethod is { IsPublic: true }, $"{typeof(T).Name}.{property.Name} has no public setter, so no key binds it");
            index++;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var current = property.GetValue(defaults);
            object value = type switch
            {
                _ when type == typeof(double) => (current is double d ? d : 0.0) + (1.0 / 3) + index,
                _ when type == typeof(int) => (current is int i ? i : 0) + 3 + index,
                _ when type == typeof(bool) => current is not true,
                _ when type == typeof(string) => $"value-{index}",
                _ when type.IsEnum => Enum.GetValues(type).Cast<object>().First(v => !v.Equals(current)),
                _ => throw new Xunit.Sdk.XunitException($"{typeof(T).Name}.{property.Name} is of type {property.PropertyType}, which the test cannot set: make it bindable (a scalar) or list it as a non-scalar"),
            };
            property.SetValue(copy, value);
        }
        return copy;
    }

    [Fact]
    public void Keys_ObjectiveOptions_AreEveryPublicPropertyInCamelCase()
    {
        var expected = PublicProperties<ObjectiveOptions>().Select(p => Camel(p.Name)).ToList();

        Assert.Equal(expected, OptionsBinder.Keys<ObjectiveOptions>());
        Assert.Contains("clipRatioHigh", expected);
        Assert.Contains("entropyAdvantageAlpha", expected);
        Assert.Contains("overlongBufferLength", expected);
        Assert.Equal(OptionsBinder.Keys<ObjectiveOptions>().Order(StringComparer.Ordinal), OptionsBinder.Describe(new ObjectiveOptions()).Keys);
    }

    [Fact]
    public void Keys_TrainerOptions_AreEveryPublicPropertyButTheNestedObjective()
    {
        var expected = PublicProperties<TrainerOptions>().Where(p => p.Name != nameof(TrainerOptions.Objective)).Select(p => Camel(p.Name)).ToList();

        Assert.Equal(expected, OptionsBinder.Keys<TrainerOptions>());
        var runLevel = OptionsBinder.Keys<TrainerOptions>(TrainerOptions.RunLevelFields);
        Assert.Equal(expected.Except(["learningRate", "tokenBudget", "totalSteps", "seed", "algorithm"]), runLevel);
    }

    [Fact]
    public void Describe_Defaults_FormatsEveryKindOfValue()
    {
        var objective = OptionsBinder.Describe(new ObjectiveOptions());
        var trainer = OptionsBinder.Describe(new TrainerOptions());

        Assert.Equal("grpo", objective["advantageEstimator"]);
        Assert.Equal("vanilla", objective["policyLoss"]);
        Assert.Equal("token-mean", objective["lossAggMode"]);
        Assert.Equal("k3", objective["klLossType"]);
        Assert.Equal("k1", objective["klInRewardType"]);
        Assert.Equal("null", objective["lossScaleFactor"]);
        Assert.Equal("null", objective["overlongBufferLength"]);
        Assert.Equal("false", objective["useKlLoss"]);
        Assert.Equal("0.2", objective["clipRatioHigh"]);
        Assert.Equal("1E-06", objective["advantageEpsilon"]);
        Assert.Equal("0", objective["maxNumGenBatches"]);
        Assert.Equal("constant", trainer["schedule"]);
        Assert.Equal("null", trainer["keepReferenceModel"]);
        Assert.Equal("true", trainer["deduplicatePrefixes"]);
        Assert.Equal("grpo", trainer["algorithm"]);
        Assert.Equal("4096", trainer["tokenBudget"]);
        Assert.DoesNotContain("objective", trainer.Keys);
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Describe_EveryPreset_RoundTripsThroughBind(string name)
    {
        var preset = AlgorithmRegistry.Objective(name);

        var bound = OptionsBinder.Bind(new ObjectiveOptions(), OptionsBinder.Describe(preset), "objective");

        Assert.Equal(preset, bound);
        Assert.NotSame(preset, bound);
    }

    [Fact]
    public void Describe_ObjectiveWithEveryFieldChanged_RoundTripsThroughBind()
    {
        var defaults = new ObjectiveOptions();
        var changed = EveryFieldChanged(defaults);
        var described = OptionsBinder.Describe(changed);
        var describedDefaults = OptionsBinder.Describe(defaults);

        var bound = OptionsBinder.Bind(defaults, described, "objective");

        // Guard: every field really differs from its default, so the round trip covers each one.
        Assert.All(described, kv => Assert.NotEqual(describedDefaults[kv.Key], kv.Value));
        Assert.Equal(changed, bound);
        Assert.NotEqual(defaults, bound);
    }

    [Fact]
    public void Describe_TrainerWithEveryFieldChanged_RoundTripsThroughBind()
    {
        var defaults = new TrainerOptions();
        var changed = EveryFieldChanged(defaults, nameof(TrainerOptions.Objective));
        var described = OptionsBinder.Describe(changed);
        var describedDefaults = OptionsBinder.Describe(defaults);

        var bound = OptionsBinder.Bind(defaults, described, "trainer");

        Assert.All(described, kv => Assert.NotEqual(describedDefaults[kv.Key], kv.Value));
        Assert.Equal(changed, bound);

        // Without the run-level fields only the trainer keys travel; the run-level ones keep the target's values.
        var runLevel = OptionsBinder.Bind(defaults, OptionsBinder.Describe(changed, TrainerOptions.RunLevelFields), "trainer", TrainerOptions.RunLevelFields);
        Assert.Equal(changed with { LearningRate = defaults.LearningRate, TokenBudget = defaults.TokenBudget, TotalSteps = defaults.TotalSteps, Seed = defaults.Seed, Algorithm = defaults.Algorithm }, runLevel);
    }

    [Fact]
    public void Bind_NoOverrides_ReturnsTheDefaultsThemselves()
    {
        var defaults = new ObjectiveOptions { ClipRatioHigh = 0.3 };

        Assert.Same(defaults, OptionsBinder.Bind(defaults, null, "objective"));
        Assert.Same(defaults, OptionsBinder.Bind(defaults, new Dictionary<string, string>(), "objective"));
    }

    [Fact]
    public void Bind_Overrides_CopyWithoutChangingTheDefaults()
    {
        var defaults = AlgorithmRegistry.Objective("dapo");

        var bound = OptionsBinder.Bind(defaults, new Dictionary<string, string> { ["ClipRatioHigh"] = " 0.35 ", ["klCtrlCoef"] = "1e-3", ["overlongBufferLength"] = "512" }, "objective");

        Assert.Equal(defaults with { ClipRatioHigh = 0.35, KlCtrlCoef = 0.001, OverlongBufferLength = 512 }, bound);
        Assert.Equal(0.28, defaults.ClipRatioHigh);
        Assert.Null(defaults.OverlongBufferLength);
    }

    [Fact]
    public void Bind_NullText_ClearsANullableField()
    {
        var defaults = new ObjectiveOptions { OverlongBufferLength = 64, LossScaleFactor = 2 };

        var bound = OptionsBinder.Bind(defaults, new Dictionary<string, string> { ["overlongBufferLength"] = "null", ["lossScaleFactor"] = "" }, "objective");

        Assert.Null(bound.OverlongBufferLength);
        Assert.Null(bound.LossScaleFactor);
        var e = Assert.Throws<ArgumentException>(() => OptionsBinder.Bind(defaults, new Dictionary<string, string> { ["clipRatioHigh"] = "null" }, "objective"));
        Assert.Equal("objective.clipRatioHigh: 'null' is not valid; expected a number.", e.Message);
    }

    [Fact]
    public void Bind_ExcludedKey_PointsToWhereItIsSet()
    {
        var e = Assert.Throws<ArgumentException>(() => OptionsBinder.Bind(new TrainerOptions(), new Dictionary<string, string> { ["learningRate"] = "1e-4" }, "trainer", TrainerOptions.RunLevelFields));

        Assert.Equal("trainer.learningRate: set it as learningRate instead (the run configuration holds it).", e.Message);
        // Without the exclusions the same key binds.
        Assert.Equal(1e-4, OptionsBinder.Bind(new TrainerOptions(), new Dictionary<string, string> { ["learningRate"] = "1e-4" }, "trainer").LearningRate);
    }

    [Fact]
    public void Bind_UnknownKey_NamesItWithEveryValidKey()
    {
        var e = Assert.Throws<ArgumentException>(() => OptionsBinder.Bind(new ObjectiveOptions(), new Dictionary<string, string> { ["entropyCoef"] = "0.1" }, "objective"));

        Assert.StartsWith($"objective.entropyCoef: unknown key. Valid keys: {string.Join(", ", OptionsBinder.Keys<ObjectiveOptions>())}.", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"Did you mean '{NameSuggestions.Closest("entropyCoef", OptionsBinder.Keys<ObjectiveOptions>())}'?", e.Message, StringComparison.Ordinal);
        Assert.NotNull(NameSuggestions.Closest("entropyCoef", OptionsBinder.Keys<ObjectiveOptions>()));
    }

    [Theory]
    [InlineData(null, "null")]
    [InlineData(true, "true")]
    [InlineData(false, "false")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-300, "1E-300")]
    [InlineData(42, "42")]
    [InlineData(-7L, "-7")]
    [InlineData("text", "text")]
    public void Format_Scalars_InvariantAndRoundTrippable(object? value, string expected) =>
        Assert.Equal(expected, OptionsBinder.Format(value));

    [Fact]
    public void Format_Enums_UseConfigurationNames()
    {
        Assert.Equal("seq-mean-token-sum-norm", OptionsBinder.Format(LossAggMode.SeqMeanTokenSumNorm));
        Assert.Equal("k3+", OptionsBinder.Format(KlEstimator.K3Plus));
        Assert.Equal("reinforce_plus_plus_baseline", OptionsBinder.Format(AdvantageEstimator.ReinforcePlusPlusBaseline));
        Assert.Equal("entropy-balanced", OptionsBinder.Format(PolicyLossKind.EntropyBalanced));
        Assert.Equal("clip_cov", OptionsBinder.Format(PolicyLossKind.ClipCov));
        Assert.Equal("cosine", OptionsBinder.Format(LearningRateScheduleKind.Cosine));
        Assert.Equal(1.0 / 3, double.Parse(OptionsBinder.Format(1.0 / 3), System.Globalization.CultureInfo.InvariantCulture));
    }
}
