namespace AgentRl.Policy.Objectives;

/// <summary>
/// Truncated importance weights for tokens another policy generated (docs/ALGORITHMS.md §4.3, AReaL-style):
/// w_t = min(π_receiver(t) / π_producer(t), c) = min(exp(logπ_receiver − logπ_producer), c) on generated tokens, 1 elsewhere.
/// The weight multiplies the token's policy loss and carries no gradient.
/// </summary>
public static class TruncatedImportance
{
    /// <param name="receiverLogprobs">logπ_receiver per token (length n).</param>
    /// <param name="behaviourLogprobs">logπ_producer per token (length n; read only where the mask is 1).</param>
    /// <param name="mask">1 on generated tokens.</param>
    /// <param name="clip">c ≥ 1.</param>
    public static float[] Weights(ReadOnlySpan<float> receiverLogprobs, ReadOnlySpan<float> behaviourLogprobs, ReadOnlySpan<byte> mask, double clip)
    {
        if (receiverLogprobs.Length != mask.Length || behaviourLogprobs.Length != mask.Length)
        {
            throw new ArgumentException($"Every per-token array must have {mask.Length} elements.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(clip, 1.0);
        var weights = new float[mask.Length];
        for (var t = 0; t < mask.Length; t++)
        {
            // exp of a clamped log-ratio: a ratio above c is c either way, and the clamp keeps exp finite.
            weights[t] = mask[t] == 0 ? 1f : (float)Math.Min(Math.Exp(Math.Min(receiverLogprobs[t] - (double)behaviourLogprobs[t], 50.0)), clip);
        }

        return weights;
    }
}
