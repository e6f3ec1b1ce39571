using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>Outcome reward placement (docs/ALGORITHMS.md §0.1): token rewards ↔ per-trajectory scores.</summary>
public static class OutcomeRewards
{
    /// <summary>
    /// [batch, seq] token rewards with scores[b] at the last valid (mask ≠ 0) token of row b and 0 elsewhere; a row with no
    /// valid token gets nothing.
    /// </summary>
    public static Tensor PlaceAtLastToken(IReadOnlyList<float> scores, Tensor mask)
    {
        if (mask.dim() != 2 || mask.shape[0] != scores.Count)
        {
            throw new ArgumentException("The mask must be [batch, seq] with one row per score.", nameof(mask));
        }
        var (rows, cols) = ((int)mask.shape[0], (int)mask.shape[1]);
        bool[] valid;
        using (var m = mask.gt(0).cpu().contiguous()) // [batch, seq]
        {
            valid = m.data<bool>().ToArray();
        }
        var rewards = new float[rows * cols];
        for (var b = 0; b < rows; b++)
        {
            for (var t = cols - 1; t >= 0; t--)
            {
                if (valid[(b * cols) + t])
                {
                    rewards[(b * cols) + t] = scores[b];
                    break;
                }
            }
        }
        return tensor(rewards, [rows, cols], device: mask.device); // [batch, seq]
    }

    /// <summary>The per-trajectory score: the sum of its token rewards, [batch, seq] → managed [batch].</summary>
    public static float[] SequenceScores(Tensor tokenRewards)
    {
        using var sums = tokenRewards.detach().sum(1).to_type(ScalarType.Float32).cpu(); // [batch]
        return sums.data<float>().ToArray();
    }
}

/// <summary>
/// KL as a reward penalty (PPO style, verl <c>apply_kl_penalty</c>, docs/ALGORITHMS.md §0.5):
/// r_tok = score_tok − β·m·kl(logπ_old, logπ_ref), then the controller sees the batch mean of the per-sequence token-mean KL.
/// </summary>
public static class KlRewardPenalty
{
    /// <summary>The penalised token rewards [batch, seq] and the KL the controller should be updated with.</summary>
    public static (Tensor TokenRewards, double CurrentKl) Apply(
        Tensor tokenScores, Tensor oldLogProb, Tensor refLogProb, Tensor mask, double beta, KlEstimator estimator = KlEstimator.K1)
    {
        using var noGrad = no_grad();
        var valid = mask.gt(0);                                                                // [batch, seq]
        var kl = KlPenalties.Compute(estimator, oldLogProb, refLogProb);                        // [batch, seq]
        kl = where(valid, kl, zeros_like(kl));                                                  // [batch, seq]
        var rewards = tokenScores - (kl * beta);                                                // [batch, seq]
        var perSequence = kl.sum(1) / (valid.to_type(kl.dtype).sum(1) + 1e-8);                 // [batch]
        return (rewards, perSequence.mean().item<float>());
    }
}

/// <summary>The KL coefficient β of the reward penalty (verl <c>algorithm.kl_ctrl</c>).</summary>
public interface IKlController
{
    double Value { get; }

    void Update(double currentKl, int steps);
}

/// <summary><c>kl_ctrl.type = fixed</c>: β never changes.</summary>
public sealed class FixedKlController(double klCoef = 0.001) : IKlController
{
    public double Value { get; } = klCoef;

    public void Update(double currentKl, int steps)
    {
    }
}

/// <summary>
/// <c>kl_ctrl.type = adaptive</c> (Ziegler et al.): e = clip(KL/target − 1, ±0.2); β ← β·(1 + e·steps/horizon).
/// Defaults kl_coef 0.001, target_kl 0.1, horizon 10000.
/// </summary>
public sealed class AdaptiveKlController(double klCoef = 0.001, double targetKl = 0.1, double horizon = 10000) : IKlController
{
    public double Value { get; private set; } = klCoef;

    public void Update(double currentKl, int steps)
    {
        var error = Math.Clamp((currentKl / targetKl) - 1, -0.2, 0.2);
        Value *= 1 + (error * steps / horizon);
    }
}
