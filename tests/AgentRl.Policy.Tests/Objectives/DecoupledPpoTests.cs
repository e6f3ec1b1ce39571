using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

/// <summary>AReaL's decoupled PPO (docs/ALGORITHMS.md §5.2): the surrogate on u = π_θ/π_prox times w = π_prox/π_behav.</summary>
public sealed class DecoupledPpoTests
{
    // Two rows of three tokens, logπ_prox = 0, so log u = logπ_θ and log w = −logπ_behav (ε 0.2 / 0.2, c = 3):
    //   token  A    u     ℓ on u (vanilla dual clip)        w      ℓ·w (token mask, upper 5)
    //   0      1    1.1   −1.1     inside                   2      −2.2
    //   1      1    1.5   −1.2     upper clip               0.5    −0.6
    //   2     −1    0.5    0.8     lower clip               1.25    1.0
    //   3     −1    4      3       dual clip (min(4, 3))    8       0      (w > 5: masked)
    //   4      2    0.9   −1.8     inside                   0.8    −1.44
    //   5      5    1      —       mask 0                   —       0
    private static readonly float[] U = [1.1f, 1.5f, 0.5f, 4f, 0.9f, 1f];
    private static readonly float[] W = [2f, 0.5f, 1.25f, 8f, 0.8f, 1f];

    private static (Tensor LogProb, PolicyLossInput Input) Example(float[]? weights = null)
    {
        var logProb = Leaf(2, 3, [.. U.Select(u => MathF.Log(u))]);                               // [2, 3]
        var behaviour = Matrix(2, 3, [.. (weights ?? W).Select(w => -MathF.Log(w))]);        // [2, 3]
        var advantages = Matrix(2, 3, 1, 1, -1, -1, 2, 5);
        var mask = Matrix(2, 3, 1, 1, 1, 1, 1, 0);
        return (logProb, new PolicyLossInput(logProb, behaviour, advantages, mask) { ProxLogProb = zeros(2, 3) });
    }

    [Fact]
    public void DecoupledPpo_FreshBehaviour_EqualsVanillaWithOldEqualToProx()
    {
        using var scope = NewDisposeScope();
        var (_, input) = Example(weights: [1, 1, 1, 1, 1, 1]);   // π_behav = π_prox: w = 1

        var decoupled = PolicyLosses.DecoupledPpo(input);
        var vanilla = PolicyLosses.Vanilla(input with { OldLogProb = zeros(2, 3) });

        Close([-1.1f, -1.2f, 0.8f, 3f, -1.8f], Values(decoupled.LossMatrix).Take(5).ToArray());
        Close(Values(vanilla.LossMatrix).Take(5).ToArray(), Values(decoupled.LossMatrix).Take(5).ToArray());
        Close(2.0 / 5, decoupled.Metrics.PgClipFrac);          // tokens 1 and 2
        Close(1.0 / 5, decoupled.Metrics.PgClipFracLower);     // token 3
        Close(vanilla.Metrics.PpoKl, decoupled.Metrics.PpoKl);
        Close(0, decoupled.Metrics.RejectedFrac!.Value);
        Close(1, decoupled.Metrics.BehaviourWeightMean!.Value);
    }

    [Fact]
    public void DecoupledPpo_StaleBehaviour_WeighsEachTokenByProxOverBehaviour_AndMasksAboveFive()
    {
        using var scope = NewDisposeScope();
        var (_, input) = Example();

        var result = PolicyLosses.DecoupledPpo(input);

        Close([-2.2f, -0.6f, 1.0f, 0f, -1.44f, 0f], Values(result.LossMatrix), 1e-4);
        // token-mean over the 5 loss tokens; the masked token 3 keeps its place in the denominator (AReaL):
        // (−2.2 − 0.6 + 1.0 + 0 − 1.44)/5 = −0.648
        Close(-0.648, LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean), 1e-4);
        Close(1.0 / 5, result.Metrics.RejectedFrac!.Value);
        Close((2 + 0.5 + 1.25 + 0 + 0.8) / 5, result.Metrics.BehaviourWeightMean!.Value);
        // Rollout weights (a swarm's truncated IS weights) still multiply: ℓ·w·0.5.
        var halved = PolicyLosses.DecoupledPpo(input with { RolloutWeights = full(2, 3, 0.5f) });
        Close([-1.1f, -0.3f, 0.5f, 0f, -0.72f, 0f], Values(halved.LossMatrix), 1e-4);
    }

    [Fact]
    public void DecoupledPpo_ClipsUAgainstProx_NotTheRatioToBehaviour()
    {
        using var scope = NewDisposeScope();
        var (_, input) = Example();

        var decoupled = PolicyLosses.DecoupledPpo(input);
        var naive = PolicyLosses.Vanilla(input);   // PPO on π_θ/π_behav = u·w

        // Token 0: u = 1.1 is inside the clip, so ℓ = −A·u·w = −2.2; the naive ratio u·w = 2.2 is clipped to 1.2.
        Close(-2.2, Values(decoupled.LossMatrix)[0], 1e-4);
        Close(-1.2, Values(naive.LossMatrix)[0], 1e-4);
        // Token 1: u = 1.5 is clipped at 1.2 (ℓ = −1.2·w = −0.6, no gradient), while the naive ratio u·w = 0.75 is not
        // clipped for A > 0 (max(−0.75, −0.8) = −0.75).
        Close(-0.6, Values(decoupled.LossMatrix)[1], 1e-4);
        Close(-0.75, Values(naive.LossMatrix)[1], 1e-4);
    }

    [Fact]
    public void DecoupledPpo_Gradient_IsMinusAUWhereUnclippedAndKept_ZeroElsewhere()
    {
        using var scope = NewDisposeScope();
        var (logProb, input) = Example();

        var result = PolicyLosses.DecoupledPpo(input);
        LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean).backward();

        // dℓ/dlogπ_θ = −A·u·w / 5 on unclipped kept tokens: token 0: −1·1.1·2/5 = −0.44; token 4: −2·0.9·0.8/5 = −0.288.
        // Tokens 1, 2 are clipped, 3 is dual-clipped and masked, 5 is not a loss token: 0.
        Close([-0.44f, 0f, 0f, 0f, -0.288f, 0f], Values(logProb.grad!), 1e-5);
    }

    [Fact]
    public void DecoupledPpo_ProxCarriesNoGradient_AndIsRequired()
    {
        using var scope = NewDisposeScope();
        var (_, input) = Example();
        var prox = Leaf(2, 3, 0, 0, 0, 0, 0, 0);

        var result = PolicyLosses.DecoupledPpo(input with { ProxLogProb = prox.detach() });
        LossAggregation.Aggregate(result.LossMatrix, input.ResponseMask, LossAggMode.TokenMean).backward();

        Assert.Null(prox.grad);
        var e = Assert.Throws<ArgumentException>(() => PolicyLosses.DecoupledPpo(input with { ProxLogProb = null }));
        Assert.Contains("ProxLogProb", e.Message);
    }

    public static TheoryData<string, RejectionSampling, float[], double, double> Rejections() => new()
    {
        // Token clamp at 5: token 3's w = 8 becomes 5, ℓ = 3·5 = 15.
        { "token clamp", new RejectionSampling(RejectionLevel.Token, RejectionAction.Clamp), [-2.2f, -0.6f, 1.0f, 15f, -1.44f, 0f], 1.0 / 5, (2 + 0.5 + 1.25 + 5 + 0.8) / 5 },
        // Lower bound 0.6, mask: token 1 (w = 0.5) and token 3 (w = 8) leave the loss.
        { "token mask lower", new RejectionSampling(RejectionLevel.Token, RejectionAction.Mask, 5.0, 0.6), [-2.2f, 0f, 1.0f, 0f, -1.44f, 0f], 2.0 / 5, (2 + 1.25 + 0.8) / 5.0 },
        // Lower bound 0.6, clamp: token 1's w becomes 0.6 (ℓ = −1.2·0.6 = −0.72), token 3's 5.
        { "token clamp lower", new RejectionSampling(RejectionLevel.Token, RejectionAction.Clamp, 5.0, 0.6), [-2.2f, -0.72f, 1.0f, 15f, -1.44f, 0f], 2.0 / 5, (2 + 0.6 + 1.25 + 5 + 0.8) / 5 },
        // Sequence level, geometric means: row 0 W = (2·0.5·1.25)^(1/3) = 1.0772174, row 1 (tokens 3, 4) W = (8·0.8)^(1/2) =
        // 2.5298221. Upper 2, mask: row 1 leaves; row 0 is weighted by its W.
        { "sequence mask", new RejectionSampling(RejectionLevel.Sequence, RejectionAction.Mask, 2.0), [-1.1849391f, -1.2926609f, 0.8617739f, 0f, 0f, 0f], 2.0 / 5, 3 * 1.0772174 / 5 },
        // Upper 2, clamp: row 1's W becomes 2 (3·2 = 6, −1.8·2 = −3.6).
        { "sequence clamp", new RejectionSampling(RejectionLevel.Sequence, RejectionAction.Clamp, 2.0), [-1.1849391f, -1.2926609f, 0.8617739f, 6f, -3.6f, 0f], 2.0 / 5, ((3 * 1.0772174) + 4) / 5 },
        // Upper 5 keeps both rows: every token gets its row's W.
        { "sequence kept", new RejectionSampling(RejectionLevel.Sequence), [-1.1849391f, -1.2926609f, 0.8617739f, 7.5894664f, -4.5536798f, 0f], 0, ((3 * 1.0772174) + (2 * 2.5298221)) / 5 },
        // Sequence lower 1.1, mask: row 0's W = 1.077 is below it.
        { "sequence mask lower", new RejectionSampling(RejectionLevel.Sequence, RejectionAction.Mask, 5.0, 1.1), [0f, 0f, 0f, 7.5894664f, -4.5536798f, 0f], 3.0 / 5, 2 * 2.5298221 / 5 },
        // None: no behaviour weight (AReaL's rejection_sampling null): the surrogate on u alone.
        { "none", new RejectionSampling(RejectionLevel.None), [-1.1f, -1.2f, 0.8f, 3f, -1.8f, 0f], 0, 1 },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void DecoupledPpo_RejectionSampling_MatchesHandComputation(string name, RejectionSampling rejection, float[] expected, double rejectedFrac, double weightMean)
    {
        using var scope = NewDisposeScope();
        var (_, input) = Example();

        var result = PolicyLosses.DecoupledPpo(input, rejection: rejection);

        Assert.True(expected.Length == 6, name);
        Close(expected, Values(result.LossMatrix), 1e-4);
        Close(rejectedFrac, result.Metrics.RejectedFrac!.Value);
        Close(weightMean, result.Metrics.BehaviourWeightMean!.Value, 1e-5);
    }

    [Fact]
    public void Compute_DecoupledPpo_ReadsRejectionFromTheObjective_AndObjectiveReportsItsMetrics()
    {
        using var scope = NewDisposeScope();
        var (logProb, input) = Example();
        var options = new ObjectiveOptions { PolicyLoss = PolicyLossKind.DecoupledPpo, RejectionAction = RejectionAction.Clamp };

        var result = PolicyLosses.Compute(options.PolicyLoss, input, options);
        var objective = PolicyObjective.Compute(options, new ObjectiveInput(logProb, input.OldLogProb, input.Advantages, input.ResponseMask) { ProxLogProb = input.ProxLogProb });

        Close([-2.2f, -0.6f, 1.0f, 15f, -1.44f, 0f], Values(result.LossMatrix), 1e-4);
        Close((-2.2 - 0.6 + 1.0 + 15 - 1.44) / 5, objective.PolicyLoss, 1e-4);
        Assert.Equal(1.0 / 5, objective.Metrics["loss/rejected_frac"], 6);
        Assert.Equal(1.91, objective.Metrics["loss/behav_weight_mean"], 5);
        Assert.False(PolicyObjective.Compute(new ObjectiveOptions(), new ObjectiveInput(logProb, input.OldLogProb, input.Advantages, input.ResponseMask)).Metrics.ContainsKey("loss/rejected_frac"));
    }

    [Fact]
    public void LoglinearAlpha_FromVersions_MatchesHandValues()
    {
        // v_prox = 5, v_θ = 6: not generated (−1) → 0; fresh (5) or ahead (6) → 0; v = 4 → 1/2; v = 3 → 2/3; v = 2 → 3/4.
        var alpha = DecoupledImportance.LoglinearAlpha([-1, 5, 4, 3, 6, 2], proxVersion: 5);

        Close([0f, 0f, 0.5f, 2f / 3, 0f, 0.75f], alpha, 1e-7);
    }

    [Fact]
    public void LoglinearProxLogProb_InterpolatesWithoutGradient_AndEqualsBehaviourWhenFresh()
    {
        using var scope = NewDisposeScope();
        var logProb = Leaf(1, 3, -1f, -2f, -0.5f);          // [1, 3]
        var behaviour = Matrix(1, 3, -3f, -1f, -0.5f);

        var stale = DecoupledImportance.LoglinearProxLogProb(logProb, behaviour, Matrix(1, 3, 0.5f, 2f / 3, 0.75f));
        var fresh = DecoupledImportance.LoglinearProxLogProb(logProb, behaviour, Matrix(1, 3, DecoupledImportance.LoglinearAlpha([7, 7, -1], proxVersion: 7)));

        // −3 + ½·(−1 + 3) = −2; −1 + ⅔·(−2 + 1) = −1.6667; −0.5 + ¾·0 = −0.5
        Close([-2f, -1.6666667f, -0.5f], Values(stale));
        Close(Values(behaviour), Values(fresh));
        Assert.False(stale.requires_grad);
    }
}
