using System.Collections.Concurrent;
using System.Diagnostics;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Pipeline.Rollouts;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// The Rollout phase of an asynchronous run (<c>mode async</c>, AReaL, docs/ALGORITHMS.md §5): a producer and a consumer
/// around a <see cref="StalenessManager"/>. Episodes of the training stream's slots are admitted while the staleness
/// capacity allows and stay in flight across steps — through the trainer's update, the weight publication, evaluation
/// and the checkpoint. <see cref="CollectAsync"/> returns the step's batch as soon as the manager can take one (the
/// oldest finished groups, every group that would otherwise grow staler than η among them); <see cref="Advance"/>
/// after the update raises the capacity. A slot's episode is the one the synchronous step would run for that group (same
/// key, item and seed), started with the version current at its admission; generators move it to newer weights as they
/// are published (the engine recomputes its cache), and its tokens record the versions.
/// <para>
/// APRIL (<c>overSampling</c> &gt; 1, docs/ALGORITHMS.md §7), in either mode: at most ⌈overSampling·B⌉ groups are started
/// and not yet trained; a step trains on the first B to finish and the rest are carried over (<c>async/parked</c>) and
/// taken first by the next step (<c>async/resumed</c>). They are never aborted, so they keep their grains' state, sandbox
/// sessions included; in sync mode new groups start only when a step begins. <c>maskOffPolicyInPartial</c> trains only the
/// tokens generated under the trainer's current version (<see cref="OffPolicyMask"/>, <c>async/masked_tokens</c>).
/// </para>
/// </summary>
public sealed class AsyncRolloutPhase : IDisposable
{
    private readonly RolloutPhase _rollout;
    private readonly StalenessManager _manager;
    private readonly Dictionary<long, Task<EpisodeResult>> _inFlight = [];
    private readonly Dictionary<long, EpisodeResult> _finished = [];
    private readonly ConcurrentDictionary<long, (long Start, long End)> _spans = new();
    private readonly bool _admitWhileWaiting;
    private readonly bool _maskOffPolicy;
    private readonly CancellationTokenSource _cancel;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastTake;
    private int _restartedReported;

    /// <param name="run">The run.</param>
    /// <param name="rollout">The run's rollout phase, which starts each slot's episode.</param>
    /// <param name="resumed">The async state of the checkpoint the run resumes from, or null for a fresh start.</param>
    /// <param name="stop">The run's stop token: it cancels every episode in flight.</param>
    public AsyncRolloutPhase(RunContext run, RolloutPhase rollout, AsyncRolloutState? resumed, CancellationToken stop)
    {
        var config = run.Config;
        var total = (long)config.Steps * config.PromptsPerStep;
        var provisioned = config.OverSampling > 1 ? (int)Math.Ceiling(config.OverSampling * config.PromptsPerStep) : 0;
        _manager = resumed is null
            ? new StalenessManager(config.PromptsPerStep, config.MaxStaleness, config.MaxConcurrentEpisodes, total, provisioned)
            : StalenessManager.Restore(config.PromptsPerStep, config.MaxStaleness, config.MaxConcurrentEpisodes, total, resumed, provisioned);
        (_rollout, _cancel) = (rollout, CancellationTokenSource.CreateLinkedTokenSource(stop));
        // Async mode admits whenever capacity frees; sync mode with APRIL's over-sampling only as a step starts.
        (_admitWhileWaiting, _maskOffPolicy) = (config.IsAsync, config.MaskOffPolicyInPartial);
    }

    /// <summary>What a checkpoint records of the stream (after <see cref="Advance"/>).</summary>
    public AsyncRolloutState Snapshot() => _manager.Snapshot();

    /// <summary>
    /// The step's groups: admits what the capacity allows, then waits until the manager can take a batch, harvesting
    /// finished episodes and admitting more as slots free. An episode that failed fails the step (a lost silo's is redone
    /// from the checkpoint, which re-admits every slot that was in flight).
    /// </summary>
    public async Task<RolloutBatch> CollectAsync(long version, CancellationToken stop)
    {
        var waited = Stopwatch.StartNew();
        Admit(version);
        IReadOnlyList<long>? slots;
        while ((slots = _manager.TryTakeBatch()) is null)
        {
            if (_inFlight.Count == 0)
            {
                throw new InvalidOperationException($"No episode is in flight and no batch can be taken (version {_manager.Version}, consumed {_manager.Consumed}, waiting {_manager.Waiting}).");
            }

            await Task.WhenAny(_inFlight.Values).WaitAsync(stop);
            Harvest();
            if (_admitWhileWaiting)
            {
                Admit(version);
            }
        }

        var now = _clock.ElapsedTicks;
        var rolloutIdle = IdleSeconds(_lastTake, now);
        var groups = slots.Select(slot => _finished.Remove(slot, out var group) ? group : throw new InvalidOperationException($"Slot {slot} was taken before it finished.")).ToList();
        foreach (var slot in slots)
        {
            _spans.TryRemove(slot, out _);
        }

        var masked = 0;
        if (_maskOffPolicy)
        {
            groups = [.. groups.Select(g => g with { Trajectories = [.. g.Trajectories.Select(t =>
            {
                var (kept, count) = OffPolicyMask.Apply(t, version);
                masked += count;
                return kept;
            })] })];
        }

        var previousTake = _lastTake;
        _lastTake = now;
        // perf/tokens_per_s over the time since the previous batch was taken: the wait alone can be near zero.
        var batch = _rollout.Measure(groups, (now - previousTake) / (double)Stopwatch.Frequency, version);
        batch.Metrics["async/in_flight"] = _manager.Running;
        batch.Metrics["async/waiting"] = _manager.Waiting;
        batch.Metrics["async/parked"] = _manager.Running + _manager.Waiting;
        batch.Metrics["async/resumed"] = _manager.CarriedOver;
        if (_maskOffPolicy)
        {
            batch.Metrics["async/masked_tokens"] = masked;
        }

        batch.Metrics["async/restarted"] = _manager.Restarted - _restartedReported;
        batch.Metrics["async/trainer_idle_s"] = waited.Elapsed.TotalSeconds;
        batch.Metrics["async/rollout_idle_s"] = rolloutIdle;
        _restartedReported = _manager.Restarted;
        return batch;
    }

    /// <summary>The batch of this version was trained on and its weights published: capacity for B more slots.</summary>
    public void Advance() => _manager.AdvanceVersion();

    /// <summary>Cancels every episode still in flight (the run ended, stopped or is redone from its checkpoint).</summary>
    public void Dispose()
    {
        _cancel.Cancel();
        _cancel.Dispose();
    }

    private void Admit(long version)
    {
        while (_manager.TryAdmit() is { } slot)
        {
            var start = _clock.ElapsedTicks;
            _spans[slot] = (start, long.MaxValue);
            var episode = _rollout.SlotEpisodeAsync(slot, version, _cancel.Token);
            _inFlight[slot] = episode;
            _ = episode.ContinueWith(_ => _spans.TryUpdate(slot, (start, _clock.ElapsedTicks), (start, long.MaxValue)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void Harvest()
    {
        foreach (var (slot, episode) in _inFlight.Where(p => p.Value.IsCompleted).ToList())
        {
            _finished[slot] = episode.GetAwaiter().GetResult();   // a failed episode fails the step here
            _inFlight.Remove(slot);
            _manager.Complete(slot);
        }
    }

    /// <summary>Seconds in [from, to) during which no episode of the stream was in flight.</summary>
    private double IdleSeconds(long from, long to)
    {
        var busy = _spans.Values
            .Select(s => (Start: Math.Max(s.Start, from), End: Math.Min(s.End, to)))
            .Where(s => s.End > s.Start)
            .OrderBy(s => s.Start)
            .ToList();
        long covered = 0, reach = from;
        foreach (var (start, end) in busy)
        {
            if (end > reach)
            {
                covered += end - Math.Max(start, reach);
                reach = end;
            }
        }

        return (to - from - covered) / (double)Stopwatch.Frequency;
    }
}
