namespace AgentRl.Policy.Generation;

/// <summary>Engine-thread state of one request: its tokens so far, its random stream and its results.</summary>
internal sealed class ActiveSequence
{
    private readonly TaskCompletionSource<GenerationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _cancelled;

    public ActiveSequence(GenerationRequest request)
    {
        Request = request;
        Tokens = [.. request.PromptTokenIds];
        Random = new Random(request.Seed);
        MaxStopStringLength = request.StopStrings.Count == 0 ? 0 : request.StopStrings.Max(s => s.Length);
    }

    public GenerationRequest Request { get; }

    /// <summary>Prompt followed by generated tokens.</summary>
    public List<int> Tokens { get; }

    /// <summary>Number of leading <see cref="Tokens"/> whose keys and values are in the cache.</summary>
    public int CachedLength { get; set; }

    public Random Random { get; }

    public int MaxStopStringLength { get; }

    public List<int> Generated { get; } = [];

    public List<float> LogProbs { get; } = [];

    public List<float> Entropies { get; } = [];

    public List<long> Versions { get; } = [];

    public List<TokenLogProb[]> TopLogProbs { get; } = [];

    public CancellationTokenRegistration Registration { get; set; }

    public Task<GenerationResult> Task => _completion.Task;

    public bool IsCancelled => _cancelled;

    public void Cancel() => _cancelled = true;

    public void Complete(FinishReason reason, string? stopMatch, long currentVersion)
    {
        Registration.Dispose();
        _completion.TrySetResult(new GenerationResult
        {
            TokenIds = [.. Generated],
            LogProbs = [.. LogProbs],
            Entropies = [.. Entropies],
            PolicyVersions = [.. Versions],
            TopLogProbs = Request.TopLogProbs > 0 ? [.. TopLogProbs] : null,
            FinishReason = reason,
            StopMatch = stopMatch,
            PolicyVersion = Versions.Count > 0 ? Versions[^1] : currentVersion,
        });
    }

    public void Fail(Exception error)
    {
        Registration.Dispose();
        _completion.TrySetException(error);
    }
}
