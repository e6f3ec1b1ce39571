using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Telemetry;
using AgentRl.Policy.Generation;
using Orleans.Concurrency;
using EngineFinish = AgentRl.Policy.Generation.FinishReason;
using FinishReason = AgentRl.Abstractions.Rollouts.FinishReason;

namespace AgentRl.Grains.Rollouts;

/// <summary>
/// Fronts this silo's inference engine. A local stateless worker: the engine batches requests from all callers, so
/// the grain itself holds nothing, must not serialize callers, and must never send generation to another silo.
/// </summary>
/// <remarks>
/// Reentrant: a stateless worker is otherwise one request at a time per activation, with at most one activation per core,
/// so no more than that many generations would reach the engine at once and continuous batching would never fill its
/// rows (measured with <c>agentrl-bench async</c>: the README's orchestration-overhead table).
/// </remarks>
[StatelessWorker]
[Reentrant]
public sealed class GeneratorGrain(PolicyHost policies) : Grain, IGeneratorGrain
{
    public async Task<GenerateResponse> GenerateAsync(GenerateRequest request, CancellationToken cancellationToken = default)
    {
        var policyId = this.GetPrimaryKeyString();
        using var span = AgentRlTelemetry.StartGenerate(policyId, request.MinPolicyVersion, request.PrefixIds.Length);
        var policy = policies.Get(policyId);
        if (policy.Engine.PolicyVersion < request.MinPolicyVersion)
        {
            var registry = GrainFactory.GetGrain<IPolicyRegistryGrain>(policyId);
            await policies.EnsureVersionAsync(policyId, request.MinPolicyVersion, () => registry.GetLatestAsync(cancellationToken), cancellationToken);
        }

        var result = await policy.Engine.GenerateAsync(
            new GenerationRequest
            {
                PromptTokenIds = request.PrefixIds,
                MaxNewTokens = request.MaxNewTokens,
                StopTokenIds = request.StopTokenIds,
                StopStrings = request.StopStrings,
                Temperature = request.Sampling.Temperature,
                TopP = request.Sampling.TopP,
                TopK = request.Sampling.TopK,
                TopLogProbs = request.Sampling.TopLogprobs,
                Seed = request.Seed,
            },
            cancellationToken);
        AgentRlTelemetry.RecordGenerated(policyId, result.TokenIds.Length);
        span?.SetTag(AgentRlTelemetry.PolicyVersionTag, policy.Engine.PolicyVersion).SetTag("generated_tokens", result.TokenIds.Length);
        var finish = result.FinishReason switch
        {
            EngineFinish.StopToken or EngineFinish.StopString => FinishReason.Stop,
            EngineFinish.Cancelled => FinishReason.Cancelled,
            _ => FinishReason.Length,
        };
        return new GenerateResponse(result.TokenIds, result.LogProbs, result.Entropies, result.PolicyVersions, finish, result.StopMatch, TopLogprobEntropies(result));
    }

    public Task<int> GetVocabularySizeAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(policies.Get(this.GetPrimaryKeyString()).Tokenizer.VocabSize);

    /// <summary>Per token −Σ e^ℓ·ℓ over the returned top logprobs plus the sampled token's when it is not among them; null when none were asked for.</summary>
    public static float[]? TopLogprobEntropies(GenerationResult result)
    {
        if (result.TopLogProbs is not { } top)
        {
            return null;
        }

        var terms = new float[result.TokenIds.Length];
        for (var t = 0; t < terms.Length && t < top.Length; t++)
        {
            double sum = 0;
            var sampledListed = false;
            foreach (var candidate in top[t] ?? [])
            {
                sampledListed |= candidate.TokenId == result.TokenIds[t];
                sum += Term(candidate.LogProb);
            }

            if (!sampledListed)
            {
                sum += Term(result.LogProbs[t]);
            }

            terms[t] = (float)sum;
        }

        return terms;
    }

    private static double Term(float logprob) => double.IsFinite(logprob) ? -Math.Exp(logprob) * logprob : 0.0;
}
