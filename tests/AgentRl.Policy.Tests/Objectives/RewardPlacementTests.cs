using AgentRl.Policy.Objectives;
using static AgentRl.Policy.Tests.Objectives.Tensors;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

public sealed class RewardPlacementTests
{
    [Fact]
    public void PlaceAtLastToken_MaskWithToolTokenAndEmptyRow_PutsScoreOnLastValidToken()
    {
        using var scope = NewDisposeScope();
        // row 0: valid 0, 2 (token 1 is tool output) → last valid 2; row 1: last valid 0; row 2: none.
        var mask = Matrix(3, 4, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0);
        var rewards = OutcomeRewards.PlaceAtLastToken([0.5f, -1f, 9f], mask);
        Close([0f, 0f, 0.5f, 0f, -1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f], Values(rewards));
        Close([0.5f, -1f, 0f], OutcomeRewards.SequenceScores(rewards));
    }

    [Fact]
    public void KlRewardPenalty_K1_SubtractsBetaTimesMaskedKl()
    {
        using var scope = NewDisposeScope();
        // k1 = old − ref = 0.2, 0.4 | 0.6, (masked 5) ; β = 0.5 → penalties 0.1, 0.2 | 0.3, 0
        // scores 0, 1 | 2, 0 → 0 − 0.1, 1 − 0.2 | 2 − 0.3, 0 = −0.1, 0.8 | 1.7, 0
        // current KL = mean over rows of row token-means: (0.3 + 0.6)/2 = 0.45
        var (rewards, kl) = KlRewardPenalty.Apply(
            Matrix(2, 2, 0, 1, 2, 0), Matrix(2, 2, 0.2f, 0.4f, 0.6f, 5f), zeros(2, 2), Matrix(2, 2, 1, 1, 1, 0), beta: 0.5);
        Close([-0.1f, 0.8f, 1.7f, 0f], Values(rewards));
        Close(0.45, kl);
    }

    [Fact]
    public void AdaptiveKlController_AboveAndBelowTarget_MovesBetaWithClippedError()
    {
        // KL 1.0 vs target 0.1: error = clip(9, ±0.2) = 0.2; β = 0.001·(1 + 0.2·256/10000) = 0.001·1.00512 = 0.00100512
        var up = new AdaptiveKlController(0.001, 0.1, 10000);
        up.Update(1.0, 256);
        Close(0.00100512, up.Value, 1e-12);
        // KL 0.09: error = 0.9 − 1 = −0.1; β = 0.001·(1 − 0.1·1000/10000) = 0.001·0.99 = 0.00099
        var down = new AdaptiveKlController(0.001, 0.1, 10000);
        down.Update(0.09, 1000);
        Close(0.00099, down.Value, 1e-12);
        var fixedCtrl = new FixedKlController(0.001);
        fixedCtrl.Update(1.0, 256);
        Assert.Equal(0.001, fixedCtrl.Value);
    }
}
