namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// The front door to a silo's inference engine for one policy (key: policy id). A stateless worker, local to the caller,
/// so that a branch's generation never leaves its silo.
/// </summary>
public interface IGeneratorGrain : IGrainWithStringKey
{
    Task<GenerateResponse> GenerateAsync(GenerateRequest request, CancellationToken cancellationToken = default);

    /// <summary>|V|, the size of the policy's tokenizer vocabulary (the normaliser of the reference's entropy estimator).</summary>
    Task<int> GetVocabularySizeAsync(CancellationToken cancellationToken = default);
}
