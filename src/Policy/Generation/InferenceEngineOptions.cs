namespace AgentRl.Policy.Generation;

/// <summary>Settings of an <see cref="InferenceEngine"/>.</summary>
public sealed record InferenceEngineOptions
{
    /// <summary>Most sequences decoded together in one step (default 64). Further requests wait for a free row.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>How long an idle engine waits after the first request for more to batch with (default 2 ms).</summary>
    public TimeSpan BatchingWindow { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Longest sequence (prompt + generated) in tokens; null means the model's <c>max_position_embeddings</c>.</summary>
    public int? MaxSequenceLength { get; init; }
}
