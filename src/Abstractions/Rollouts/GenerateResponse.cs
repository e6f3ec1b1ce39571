namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// The generated tokens with, per token, the logprob under the sampling distribution, its entropy and the policy version;
/// when <see cref="SamplingSettings.TopLogprobs"/> &gt; 0 also <see cref="TopLogprobEntropies"/>: per token −Σ e^ℓ·ℓ over
/// the returned logprobs (the top k, plus the sampled token when outside them), the reference code's truncated entropy.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.generate-response.v1")]
public sealed record GenerateResponse(
    [property: Id(0)] int[] TokenIds,
    [property: Id(1)] float[] Logprobs,
    [property: Id(2)] float[] Entropies,
    [property: Id(3)] long[] PolicyVersions,
    [property: Id(4)] FinishReason FinishReason,
    [property: Id(5)] string? StopMatch,
    [property: Id(6)] float[]? TopLogprobEntropies = null);
