namespace AgentRl.Policy.Generation;

/// <summary>Settings of an <see cref="InferenceEngine"/>.</summary>
public sealed record InferenceEngineOptions
{
    /// <summary>Most sequences decoded together in one step (default 64). Further requests wait for a free row.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>How long an idle engine waits after the first request for more to batch with (default 2 ms).</summary>
    public TimeSpan BatchingWindow { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Prefix cache: how many finished sequences keep their keys and values (default 16; 0 turns reuse off). A new
    /// request whose prompt starts with the cached tokens of a finished or running sequence copies those instead of
    /// recomputing them, e.g. a branch forked from its parent's trajectory or the next turn of a conversation.
    /// </summary>
    public int PrefixCacheEntries { get; init; } = 16;

    /// <summary>Shortest shared prefix, in tokens, worth reusing (default 4).</summary>
    public int MinPrefixTokens { get; init; } = 4;

    /// <summary>
    /// Torch intra-op threads of the engine's own thread (default 1). Decoding small models runs many tiny ops, where a
    /// second thread costs more than it gives: tiny b1 decoding measured 1 094 new tokens/s with 1 thread vs 580 with 2
    /// (<c>agentrl-bench generate --engine-threads</c>). 0 leaves the process setting.
    /// </summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>
    /// Decoding steps of at most this many rows run in managed code on an f32 CPU model
    /// (<see cref="Model.CausalLanguageModel.CpuDecodeMaxBatch"/>) instead of as a few hundred small torch ops
    /// (default 64; 0 = always torch). Larger steps go through torch, whose matrix products win there.
    /// </summary>
    public int CpuDecodeMaxBatch { get; init; } = 64;

    /// <summary>Threads a managed decoding step splits its rows over, each taking at least 8 rows (default 0 = one per core).</summary>
    public int CpuDecodeThreads { get; init; }

    /// <summary>
    /// Batch-invariant generation (default on): a request's tokens, log-probs and entropies are the same bits whatever
    /// other requests share its batch, when it arrived, how the batching window grouped it, whether its prefix came from
    /// the prefix cache, and how many threads split a step — so a seeded run repeats exactly under any load. Every forward
    /// then runs in the managed decoder (<see cref="Model.CausalLanguageModel.BatchInvariant"/>), prompts included, and
    /// <see cref="CpuDecodeMaxBatch"/> no longer sends large steps through torch. Needs an f32 CPU model; elsewhere it has
    /// no effect (<see cref="InferenceEngine.BatchInvariant"/> says which). Its cost is in the README's reproducibility section.
    /// </summary>
    public bool BatchInvariant { get; init; } = true;

    /// <summary>Longest sequence (prompt + generated) in tokens; null means the model's <c>max_position_embeddings</c>.</summary>
    public int? MaxSequenceLength { get; init; }
}
