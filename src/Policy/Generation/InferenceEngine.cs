using System.Collections.Concurrent;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Generation;

/// <summary>
/// Batched generation with a KV cache, one per process. The engine owns its model on a dedicated thread: requests
/// from any thread are queued, admitted into free batch rows between decoding steps (continuous batching: a
/// prefill of the newcomers, then one decoding step for every active row), and completed when they stop.
/// Weights are swapped between steps; sequences in flight have their cache recomputed with the new weights and
/// record the new version for the tokens that follow.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly ITokenDecoder? _decoder;
    private readonly InferenceEngineOptions _options;
    private readonly ConcurrentQueue<ActiveSequence> _pending = new();
    private readonly ConcurrentQueue<WeightUpdate> _weightUpdates = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly List<ActiveSequence> _active = [];
    private readonly int _maxSequenceLength;
    private readonly List<RetainedPrefix> _retained = [];
    private KvCache? _cache;
    private long _version;
    private long _reusedPromptTokens;
    private long _useClock;

    /// <param name="model">The model; from now on only the engine thread may use it. The caller keeps ownership.</param>
    /// <param name="initialVersion">Policy version of the model's current weights.</param>
    /// <param name="decoder">Needed for requests with stop strings.</param>
    /// <param name="options">Batch size and batching window.</param>
    public InferenceEngine(CausalLanguageModel model, long initialVersion = 0, ITokenDecoder? decoder = null, InferenceEngineOptions? options = null)
    {
        _model = model;
        _decoder = decoder;
        _options = options ?? new InferenceEngineOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxBatchSize, 1);
        _maxSequenceLength = _options.MaxSequenceLength ?? model.Config.MaxPositionEmbeddings;
        _version = initialVersion;
        _thread = new Thread(Run) { IsBackground = true, Name = "agentrl-inference" };
        _thread.Start();
    }

    /// <summary>
    /// Whether generation is batch-invariant (<see cref="InferenceEngineOptions.BatchInvariant"/> asked for, and the model
    /// has a managed decoder: f32 on the CPU). Known once the engine thread has prepared the model, before any request runs.
    /// </summary>
    public bool BatchInvariant => _options.BatchInvariant && _model.Device.type == TorchSharp.DeviceType.CPU && _model.DType == ScalarType.Float32;

    /// <summary>Version of the weights the engine generates with now.</summary>
    public long PolicyVersion => Interlocked.Read(ref _version);

    /// <summary>Prompt tokens whose keys and values came from the prefix cache instead of a forward pass (total).</summary>
    public long ReusedPromptTokens => Interlocked.Read(ref _reusedPromptTokens);

    /// <summary>Queues a request. Cancelling returns the tokens produced so far with <see cref="FinishReason.Cancelled"/>.</summary>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.PromptTokenIds.Count == 0)
        {
            throw new ArgumentException("The prompt needs at least one token.", nameof(request));
        }

        if (request.StopStrings.Count > 0 && _decoder is null)
        {
            throw new ArgumentException("Stop strings need an ITokenDecoder given to the engine.", nameof(request));
        }

        if (request.TopLogProbs is < 0 or > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(request), "TopLogProbs must be between 0 and 20.");
        }

        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        var sequence = new ActiveSequence(request);
        if (cancellationToken.CanBeCanceled)
        {
            sequence.Registration = cancellationToken.Register(() =>
            {
                sequence.Cancel();
                _signal.Release();
            });
        }

        _pending.Enqueue(sequence);
        _signal.Release();
        return sequence.Task;
    }

    /// <summary>
    /// Replaces the weights (Hugging Face names) between two decoding steps and sets the version. The tensors must
    /// stay unchanged until the returned task completes; they are copied, not kept.
    /// </summary>
    public Task LoadWeightsAsync(long version, IReadOnlyDictionary<string, Tensor> weights, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        var update = new WeightUpdate(version, weights, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _weightUpdates.Enqueue(update);
        _signal.Release();
        return update.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Replaces the weights with those of <paramref name="source"/> (same architecture), see the dictionary overload.</summary>
    public Task LoadWeightsAsync(long version, nn.Module source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return LoadWeightsAsync(version, source.state_dict(), cancellationToken);
    }

    private void Run()
    {
        if (_options.IntraOpThreads > 0)
        {
            // Before this thread's first torch op, so that it binds this thread (torch applies set_num_threads only to threads that have not run torch code yet).
            set_num_threads(_options.IntraOpThreads);
        }

        using var noGrad = no_grad();
        var wasFused = _model.IsFused;
        var (previousMaxBatch, previousThreads, previousInvariant) = (_model.CpuDecodeMaxBatch, _model.CpuDecodeThreads, _model.BatchInvariant);
        _model.FuseForInference();
        _model.CpuDecodeMaxBatch = _options.CpuDecodeMaxBatch;
        _model.CpuDecodeThreads = _options.CpuDecodeThreads > 0 ? _options.CpuDecodeThreads : Environment.ProcessorCount;
        _model.BatchInvariant = _options.BatchInvariant;

        _cache = new KvCache(_model.Config, _model.Device, _model.DType);
        _cache.EnsureCapacity(_options.MaxBatchSize + _options.PrefixCacheEntries, 64);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                ApplyWeightUpdates();
                if (_active.Count == 0 && _pending.IsEmpty)
                {
                    _signal.Wait(_stop.Token);
                    if (_options.BatchingWindow > TimeSpan.Zero)
                    {
                        Thread.Sleep(_options.BatchingWindow);
                    }

                    continue;
                }

                RemoveCancelled();
                Admit();
                if (_active.Count > 0)
                {
                    DecodeStep();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception error)
            {
                foreach (var sequence in _active)
                {
                    sequence.Fail(error);
                }

                _active.Clear();
            }
        }

        var disposed = new ObjectDisposedException(nameof(InferenceEngine));
        foreach (var sequence in _active)
        {
            sequence.Fail(disposed);
        }

        while (_pending.TryDequeue(out var waiting))
        {
            waiting.Fail(disposed);
        }

        while (_weightUpdates.TryDequeue(out var update))
        {
            update.Completion.TrySetException(disposed);
        }

        _cache.Dispose();
        (_model.CpuDecodeMaxBatch, _model.CpuDecodeThreads, _model.BatchInvariant) = (previousMaxBatch, previousThreads, previousInvariant);
        if (!wasFused)
        {
            _model.Unfuse();
        }
    }

    private void ApplyWeightUpdates()
    {
        var applied = false;
        while (_weightUpdates.TryDequeue(out var update))
        {
            try
            {
                _model.LoadParameters(update.Weights);
                Interlocked.Exchange(ref _version, update.Version);
                applied = true;
                update.Completion.TrySetResult();
            }
            catch (Exception error)
            {
                update.Completion.TrySetException(error);
            }
        }

        if (applied)
        {
            _retained.Clear();   // computed with the old weights
        }

        if (applied && _active.Count > 0)
        {
            // The cached keys and values came from the old weights: recompute them (AReaL's interruptible rollouts).
            using var scope = NewDisposeScope();
            var lengths = _active.Select(s => s.CachedLength).ToArray();
            Prefill(0, _active, new int[_active.Count], lengths);
        }
    }

    private void RemoveCancelled()
    {
        for (var row = _active.Count - 1; row >= 0; row--)
        {
            if (_active[row].IsCancelled)
            {
                _active[row].Complete(FinishReason.Cancelled, null, _version);
                Retain(row);
                RemoveRow(row);
            }
        }
    }

    private void Admit()
    {
        var admitted = new List<ActiveSequence>();
        while (_active.Count + admitted.Count < _options.MaxBatchSize && _pending.TryDequeue(out var sequence))
        {
            if (sequence.IsCancelled)
            {
                sequence.Complete(FinishReason.Cancelled, null, _version);
            }
            else if (sequence.Request.MaxNewTokens <= 0 || sequence.Tokens.Count >= _maxSequenceLength)
            {
                sequence.Complete(FinishReason.Length, null, _version);
            }
            else
            {
                admitted.Add(sequence);
            }
        }

        if (admitted.Count == 0)
        {
            return;
        }

        var firstRow = _active.Count;
        var starts = new int[admitted.Count];
        for (var i = 0; i < admitted.Count; i++)
        {
            starts[i] = ReusePrefix(admitted[i], firstRow, firstRow + i);
        }

        _active.AddRange(admitted);
        using var scope = NewDisposeScope();
        var logits = Prefill(firstRow, admitted, starts, admitted.Select(s => s.Tokens.Count).ToArray());   // [admitted, vocab]
        SampleAndAdvance(firstRow, admitted, logits);
    }

    /// <summary>
    /// Copies the longest cached prefix of the new sequence's prompt (from a running row or a retained finished
    /// sequence) into its cache row; returns how many tokens need no recomputation. At least one prompt token is
    /// always left to run, for the logits of the first new token.
    /// </summary>
    private int ReusePrefix(ActiveSequence sequence, int runningRows, int targetRow)
    {
        if (_options.PrefixCacheEntries <= 0)
        {
            return 0;
        }

        var prompt = sequence.Tokens;
        var limit = prompt.Count - 1;
        var bestLength = 0;
        var bestRow = -1;
        RetainedPrefix? bestRetained = null;
        for (var row = 0; row < runningRows; row++)
        {
            var length = CommonPrefix(_active[row].Tokens, _active[row].CachedLength, prompt, limit);
            if (length > bestLength)
            {
                (bestLength, bestRow, bestRetained) = (length, row, null);
            }
        }

        foreach (var retained in _retained)
        {
            var length = CommonPrefix(retained.Tokens, retained.Tokens.Length, prompt, limit);
            if (length > bestLength)
            {
                (bestLength, bestRow, bestRetained) = (length, retained.Row, retained);
            }
        }

        if (bestLength < _options.MinPrefixTokens)
        {
            return 0;
        }

        if (bestRetained is not null)
        {
            bestRetained.LastUse = ++_useClock;
        }

        _cache!.CopyRow(bestRow, targetRow, bestLength);
        Interlocked.Add(ref _reusedPromptTokens, bestLength);
        return bestLength;
    }

    private static int CommonPrefix(IReadOnlyList<int> cached, int cachedLength, List<int> prompt, int limit)
    {
        var max = Math.Min(cachedLength, limit);
        var length = 0;
        while (length < max && cached[length] == prompt[length])
        {
            length++;
        }

        return length;
    }

    /// <summary>Keeps the cached tokens of a finishing row in the prefix cache (least recently used entry replaced).</summary>
    private void Retain(int row)
    {
        var sequence = _active[row];
        if (_options.PrefixCacheEntries <= 0 || sequence.CachedLength < _options.MinPrefixTokens)
        {
            return;
        }

        RetainedPrefix entry;
        if (_retained.Count < _options.PrefixCacheEntries)
        {
            entry = new RetainedPrefix { Row = _options.MaxBatchSize + _retained.Count };
            _retained.Add(entry);
        }
        else
        {
            entry = _retained.MinBy(r => r.LastUse)!;
        }

        _cache!.CopyRow(row, entry.Row, sequence.CachedLength);
        entry.Tokens = sequence.Tokens.GetRange(0, sequence.CachedLength).ToArray();
        entry.LastUse = ++_useClock;
    }

    /// <summary>
    /// Runs tokens <c>starts[i] .. ends[i] - 1</c> of each sequence (earlier ones are already cached in its row)
    /// into cache rows from <paramref name="firstRow"/>.
    /// </summary>
    private Tensor Prefill(int firstRow, IReadOnlyList<ActiveSequence> sequences, int[] starts, int[] ends)
    {
        var batch = sequences.Count;
        var width = 0;
        for (var row = 0; row < batch; row++)
        {
            width = Math.Max(width, ends[row] - starts[row]);
        }

        var ids = new long[batch * width];
        for (var row = 0; row < batch; row++)
        {
            for (var t = starts[row]; t < ends[row]; t++)
            {
                ids[(row * width) + t - starts[row]] = sequences[row].Tokens[t];
            }

            sequences[row].CachedLength = ends[row];
        }

        var input = tensor(ids, [batch, width], device: _model.Device);                                  // [batch, width]
        var startPositions = starts.Select(s => (long)s).ToArray();
        var counts = new long[batch];
        for (var row = 0; row < batch; row++)
        {
            counts[row] = ends[row] - starts[row];
        }

        return _model.ForwardCached(input, _cache!, startPositions, counts, firstRow);                 // [batch, vocab]
    }

    private void DecodeStep()
    {
        using var scope = NewDisposeScope();
        var batch = _active.Count;
        var ids = new long[batch];
        var starts = new long[batch];
        var counts = new long[batch];
        for (var row = 0; row < batch; row++)
        {
            var sequence = _active[row];
            ids[row] = sequence.Tokens[sequence.CachedLength];
            starts[row] = sequence.CachedLength;
            counts[row] = 1;
            sequence.CachedLength++;
        }

        var input = tensor(ids, [batch, 1], device: _model.Device);                                     // [batch, 1]
        var logits = _model.ForwardCached(input, _cache!, starts, counts);                              // [batch, vocab]
        SampleAndAdvance(0, _active, logits);
    }

    /// <summary>Samples the next token of rows <paramref name="firstRow"/>.. and completes the rows that stop.</summary>
    private void SampleAndAdvance(int firstRow, IReadOnlyList<ActiveSequence> sequences, Tensor logits)
    {
        var rows = new SamplingRow[sequences.Count];
        for (var row = 0; row < rows.Length; row++)
        {
            var request = sequences[row].Request;
            rows[row] = new SamplingRow(request.Temperature, request.TopK, request.TopP, request.TopLogProbs, sequences[row].Random.NextDouble());
        }

        var sampled = BatchSampler.Sample(logits, rows);
        var finished = new List<(int Row, FinishReason Reason, string? Match)>();
        for (var row = 0; row < rows.Length; row++)
        {
            var sequence = sequences[row];
            var token = sampled[row];
            sequence.Tokens.Add(token.TokenId);
            sequence.Generated.Add(token.TokenId);
            sequence.LogProbs.Add(token.LogProb);
            sequence.Entropies.Add(token.Entropy);
            sequence.Versions.Add(_version);
            if (token.TopLogProbs is not null)
            {
                sequence.TopLogProbs.Add(token.TopLogProbs);
            }

            if (StopCheck(sequence, token.TokenId) is { } stop)
            {
                finished.Add((firstRow + row, stop.Reason, stop.Match));
            }
            else if (sequence.Generated.Count >= sequence.Request.MaxNewTokens || sequence.Tokens.Count >= _maxSequenceLength)
            {
                finished.Add((firstRow + row, FinishReason.Length, null));
            }
        }

        for (var i = finished.Count - 1; i >= 0; i--)
        {
            var (row, reason, match) = finished[i];
            _active[row].Complete(reason, match, _version);
            Retain(row);
            RemoveRow(row);
        }
    }

    private (FinishReason Reason, string Match)? StopCheck(ActiveSequence sequence, int tokenId)
    {
        var request = sequence.Request;
        for (var i = 0; i < request.StopTokenIds.Count; i++)
        {
            if (request.StopTokenIds[i] == tokenId)
            {
                return (FinishReason.StopToken, tokenId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (sequence.MaxStopStringLength > 0)
        {
            // Any earlier occurrence would have stopped an earlier step, so only the newest tail can hold a new match.
            var window = Math.Min(sequence.Generated.Count, sequence.MaxStopStringLength + 4);
            var text = _decoder!.Decode(sequence.Generated.GetRange(sequence.Generated.Count - window, window));
            foreach (var stop in request.StopStrings)
            {
                if (stop.Length > 0 && text.Contains(stop, StringComparison.Ordinal))
                {
                    return (FinishReason.StopString, stop);
                }
            }
        }

        return null;
    }

    /// <summary>Removes a row, moving the last active row (and its cache row) into its place so rows stay contiguous.</summary>
    private void RemoveRow(int row)
    {
        var last = _active.Count - 1;
        if (row != last)
        {
            var moved = _active[last];
            _cache!.CopyRow(last, row, moved.CachedLength);
            _active[row] = moved;
        }

        _active.RemoveAt(last);
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _thread.Join();
        while (_pending.TryDequeue(out var late))
        {
            late.Fail(new ObjectDisposedException(nameof(InferenceEngine)));
        }

        _stop.Dispose();
        _signal.Dispose();
    }

    private sealed class RetainedPrefix
    {
        public int Row { get; init; }

        public int[] Tokens { get; set; } = [];

        public long LastUse { get; set; }
    }

    private sealed record WeightUpdate(long Version, IReadOnlyDictionary<string, Tensor> Weights, TaskCompletionSource Completion);
}
