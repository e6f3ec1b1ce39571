using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Abstractions.Rollouts;

/// <summary>How tokens are sampled. Temperature 0 is greedy.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.sampling.v1")]
public sealed record SamplingSettings(
    [property: Id(0)] double Temperature = 1.0,
    [property: Id(1)] double TopP = 1.0,
    [property: Id(2)] int TopK = 0,
    [property: Id(3)] int TopLogprobs = 0);

/// <summary>One generation call: continue <see cref="PrefixIds"/> (the exact token prefix) with at most <see cref="MaxNewTokens"/> tokens.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.generate-request.v1")]
public sealed record GenerateRequest(
    [property: Id(0)] int[] PrefixIds,
    [property: Id(1)] int MaxNewTokens,
    [property: Id(2)] SamplingSettings Sampling,
    [property: Id(3)] int Seed,
    [property: Id(4)] IReadOnlyList<int> StopTokenIds,
    [property: Id(5)] IReadOnlyList<string> StopStrings,
    [property: Id(6)] long MinPolicyVersion = 0);

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

/// <summary>
/// What a sandbox offers: the task whose tools (and tool context, e.g. a knowledge base) it serves, and its limits.
/// An empty <see cref="TaskName"/> (no item) offers every catalog tool that needs no knowledge base (<c>agentrl tools call</c>).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.sandbox-spec.v1")]
public sealed record SandboxSpec(
    [property: Id(0)] string TaskName,
    [property: Id(1)] string ItemJson,
    [property: Id(2)] int MaxToolCalls = 8,
    [property: Id(3)] double CallTimeoutSeconds = 10);

/// <summary>
/// One rollout branch's tool session (key: the branch key): its tools, limits and call history. A forked branch's
/// sandbox is rebuilt by replaying the parent's calls.
/// </summary>
public interface IToolSandboxGrain : IGrainWithStringKey
{
    /// <summary>Opens (or re-opens) the session; replays <paramref name="history"/> and returns the replayed observations.</summary>
    Task<IReadOnlyList<ToolObservation>> OpenAsync(SandboxSpec spec, IReadOnlyList<ToolCall> history, CancellationToken cancellationToken = default);

    /// <summary>The tools as the chat template renders them.</summary>
    Task<IReadOnlyList<ToolSpec>> GetToolsAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs a call; every failure (including the limit and the timeout) is an error observation.</summary>
    Task<ToolObservation> InvokeAsync(ToolCall call, CancellationToken cancellationToken = default);

    /// <summary>The calls made so far, in order, with their observations.</summary>
    Task<IReadOnlyList<ToolCallRecord>> GetHistoryAsync(CancellationToken cancellationToken = default);

    /// <summary>Ends the session: kills its processes and deactivates.</summary>
    Task CloseAsync(CancellationToken cancellationToken = default);
}

/// <summary>The limits of one trajectory's multi-turn loop.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.rollout-limits.v1")]
public sealed record RolloutLimits(
    [property: Id(0)] int MaxTurns = 6,
    [property: Id(1)] int MaxNewTokensPerTurn = 96,
    [property: Id(2)] int ContextBudget = 256,
    [property: Id(3)] int MaxToolCalls = 8,
    [property: Id(4)] double ToolTimeoutSeconds = 10,
    [property: Id(5)] int EntropyWindow = 20);

/// <summary>
/// Everything a rollout branch needs: the policy, the task item, sampling, limits, and for a forked child the parent
/// trajectory and the fork position (the end of one of the parent's tool results, as a token offset): the child's
/// sandbox replays the parent's calls up to there and the child continues from the parent's tokens [0, ForkPosition).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.branch-spec.v1")]
public sealed record BranchSpec(
    [property: Id(0)] string GroupId,
    [property: Id(1)] string PolicyId,
    [property: Id(2)] string TaskName,
    [property: Id(3)] string ItemJson,
    [property: Id(4)] SamplingSettings Sampling,
    [property: Id(5)] RolloutLimits Limits,
    [property: Id(6)] int Seed,
    [property: Id(7)] long MinPolicyVersion = 0,
    [property: Id(8)] Trajectory? Parent = null,
    [property: Id(9)] int ForkPosition = 0);

/// <summary>One trajectory path (key: <c>{episode}/{path}</c>, e.g. <c>run/3/7/0.2</c>): generate → tool call → observation, until done.</summary>
public interface IRolloutBranchGrain : IGrainWithStringKey
{
    Task<Trajectory> RunAsync(BranchSpec spec, CancellationToken cancellationToken = default);
}

/// <summary>
/// One prompt's group of rollouts: <see cref="GroupSize"/> independent samples, or with <see cref="Branching"/> (presets
/// filled, see <see cref="BranchingSettings.ForAlgorithm"/>) an entropy-triggered rollout tree of M = GroupSize trajectories.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.episode-spec.v1")]
public sealed record EpisodeSpec(
    [property: Id(0)] string PolicyId,
    [property: Id(1)] string TaskName,
    [property: Id(2)] string ItemJson,
    [property: Id(3)] int GroupSize,
    [property: Id(4)] SamplingSettings Sampling,
    [property: Id(5)] RolloutLimits Limits,
    [property: Id(6)] int Seed,
    [property: Id(7)] long MinPolicyVersion = 0,
    [property: Id(8)] BranchingSettings? Branching = null);

/// <summary>A finished group: its trajectories with rewards and their named parts, and for a tree what branching did.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.episode-result.v1")]
public sealed record EpisodeResult(
    [property: Id(0)] string EpisodeId,
    [property: Id(1)] IReadOnlyList<Trajectory> Trajectories,
    [property: Id(2)] double ElapsedMs,
    [property: Id(3)] BranchingStats? Branching = null);

/// <summary>Runs a group of rollouts for one prompt and scores them (key: <c>{run}/{step}/{prompt}</c>).</summary>
public interface IEpisodeGrain : IGrainWithStringKey
{
    Task<EpisodeResult> RunAsync(EpisodeSpec spec, CancellationToken cancellationToken = default);
}
