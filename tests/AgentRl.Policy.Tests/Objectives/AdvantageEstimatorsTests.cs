using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class AdvantageEstimatorsTests
{
    // Groups: a = {1, 0, 0}, b = {1, 0}, c = {2} (single member).
    private static readonly float[] Scores = [1, 0, 0, 1, 0, 2];
    private static readonly string[] Groups = ["a", "a", "a", "b", "b", "c"];

    [Fact]
    public void Grpo_ThreeGroupsWithSingleton_NormalisesByUnbiasedStd()
    {
        // a: μ = 1/3; deviations 2/3, −1/3, −1/3; Σ² = 4/9 + 1/9 + 1/9 = 2/3; σ = √((2/3)/2) = √(1/3) = 0.5773503
        //    A = (2/3)/(0.5773503 + 1e-6) = 1.1546985, (−1/3)/(0.5773513) = −0.5773493
        // b: μ = 0.5; σ = √((0.25 + 0.25)/1) = 0.7071068; A = ±0.5/0.7071078 = ±0.7071058
        // c: single → μ = 0, σ = 1; A = 2/(1 + 1e-6) = 1.999998
        var a = AdvantageEstimators.Grpo(Scores, Groups);
        Close([1.1546985f, -0.5773493f, -0.5773493f, 0.7071058f, -0.7071058f, 1.999998f], a);
    }

    [Fact]
    public void Grpo_TinySpread_EpsilonIsAddedToStd()
    {
        // s = {0, 1e-6}: μ = 5e-7, σ = √(2·(5e-7)²) = 7.0711e-7; A = ±5e-7/(7.0711e-7 + 1e-6) = ±0.2928932
        // (without ε it would be ±0.7071).
        var a = AdvantageEstimators.Grpo([0f, 1e-6f], ["g", "g"]);
        Close([-0.2928932f, 0.2928932f], a, 1e-4);
    }

    [Fact]
    public void DrGrpo_ThreeGroupsWithSingleton_OnlySubtractsGroupMean()
    {
        // a: 1 − 1/3 = 2/3, 0 − 1/3 = −1/3 (twice); b: ±0.5; c: single → μ = 0 → 2.
        var a = AdvantageEstimators.DrGrpo(Scores, Groups);
        Close([0.6666667f, -0.3333333f, -0.3333333f, 0.5f, -0.5f, 2f], a);
    }

    [Fact]
    public void Rloo_ThreeGroupsWithSingleton_SubtractsLeaveOneOutMean()
    {
        // a: 1 − mean(0, 0) = 1; 0 − mean(1, 0) = −0.5 (twice)
        // b: 1 − 0 = 1; 0 − 1 = −1; c: single → raw score 2.
        var a = AdvantageEstimators.Rloo(Scores, Groups);
        Close([1f, -0.5f, -0.5f, 1f, -1f, 2f], a);
    }

    [Fact]
    public void ReinforcePlusPlusBaseline_TokenWeightedWhitening_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // Scores {1, 0} in group a, {3} alone in b; token counts 2, 1, 1.
        var mask = Matrix(3, 3, 1, 1, 0, 1, 0, 0, 0, 1, 0); // [3, 3]
        // Centred: a: μ = 0.5 → 0.5, −0.5; b single → μ = 0 → 3.
        // Tokens: 0.5, 0.5, −0.5, 3 → N = 4, M = 3.5/4 = 0.875
        // deviations −0.375, −0.375, −1.375, 2.125; Σ² = 0.140625·2 + 1.890625 + 4.515625 = 6.6875; V = 6.6875/3 = 2.2291667
        // √(V + 1e-8) = 1.4930395 → A = −0.375/1.4930395 = −0.2511655, −1.375/… = −0.9209402, 2.125/… = 1.4232712
        var result = AdvantageEstimators.Compute(
            AdvantageEstimator.ReinforcePlusPlusBaseline, [1f, 0f, 3f], ["a", "a", "b"], mask);
        Close([-0.2511655f, -0.9209402f, 1.4232712f], result.PerTrajectory);
        Close(
            [-0.2511655f, -0.2511655f, 0f, -0.9209402f, 0f, 0f, 0f, 1.4232712f, 0f],
            Values(result.PerToken));
    }

    [Fact]
    public void Compute_MaskedTokens_BroadcastsOnlyToValidTokens()
    {
        using var scope = NewDisposeScope();
        // Group {1, 0}: Dr.GRPO → 0.5, −0.5. Row 0 has a tool token in the middle (0), row 1 is fully masked.
        var mask = Matrix(2, 4, 1, 0, 1, 0, 0, 0, 0, 0); // [2, 4]
        var result = AdvantageEstimators.Compute(AdvantageEstimator.DrGrpo, [1f, 0f], [7, 7], mask);
        Close([0.5f, -0.5f], result.PerTrajectory);
        Close([0.5f, 0f, 0.5f, 0f, 0f, 0f, 0f, 0f], Values(result.PerToken));
    }

    [Fact]
    public void ComputePerTrajectory_ByName_DispatchesToTheNamedEstimator()
    {
        var rloo = AdvantageEstimators.ComputePerTrajectory(ObjectiveNames.ParseAdvantageEstimator("rloo"), Scores, Groups);
        var grpo = AdvantageEstimators.ComputePerTrajectory(ObjectiveNames.ParseAdvantageEstimator("grpo"), Scores, Groups);
        Close([1f, -0.5f, -0.5f, 1f, -1f, 2f], rloo);
        Close(1.1546985f, grpo[0]);
        Assert.Throws<ArgumentNullException>(() =>
            AdvantageEstimators.ComputePerTrajectory(AdvantageEstimator.ReinforcePlusPlusBaseline, Scores, Groups));
    }
}
