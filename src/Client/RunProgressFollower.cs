using System.Threading.Channels;
using AgentRl.Abstractions.Training;

namespace AgentRl.Client;

/// <summary>
/// Follows a run from the progress its grain pushes (<see cref="IRunProgressObserver"/>). Subscriptions expire in the grain
/// and do not move with a run that is taken up on another silo, so the follower renews its subscription every
/// <c>renewEvery</c>; pushes are one-way and may be lost, so when none arrives within the wait it polls the status instead.
/// </summary>
public sealed class RunProgressFollower : IRunProgressObserver, IAsyncDisposable
{
    private readonly Channel<RunStatus> _pushes = Channel.CreateUnbounded<RunStatus>();
    private readonly IGrainFactory _client;
    private readonly ITrainingRunGrain _run;
    private readonly TimeSpan _renewEvery;
    private IRunProgressObserver? _reference;
    private DateTime _renewAt = DateTime.MinValue;

    public RunProgressFollower(IGrainFactory client, string runId, TimeSpan? renewEvery = null)
    {
        _client = client;
        _run = client.GetGrain<ITrainingRunGrain>(runId);
        _renewEvery = renewEvery ?? RunProgress.RenewEvery;
    }

    /// <summary>Statuses that arrived as pushes so far.</summary>
    public int Pushed { get; private set; }

    /// <summary>Statuses read by polling because no push came in time.</summary>
    public int Polled { get; private set; }

    /// <summary>Whether the last status <see cref="NextAsync"/> returned was pushed (not polled).</summary>
    public bool LastWasPushed { get; private set; }

    Task IRunProgressObserver.OnProgressAsync(RunStatus status)
    {
        _pushes.Writer.TryWrite(status);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The next pushed status, or the polled one when no push arrives within <paramref name="pollAfter"/>. Pushes older than
    /// the last status returned (they may overtake each other) are skipped. The subscription is renewed while waiting.
    /// </summary>
    public async Task<RunStatus> NextAsync(TimeSpan pollAfter, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + pollAfter;
        while (true)
        {
            await RenewIfDueAsync(cancellationToken);
            var now = DateTime.UtcNow;
            if (now >= deadline)
            {
                Polled++;
                LastWasPushed = false;
                return _last = await _run.GetStatusAsync(cancellationToken);
            }

            // Wake up for the next renewal or the poll, whichever comes first.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, Math.Min((deadline - now).Ticks, (_renewAt - now).Ticks))));
            try
            {
                while (true)
                {
                    var pushed = await _pushes.Reader.ReadAsync(wait.Token);
                    if (pushed.IsNotOlderThan(_last))
                    {
                        Pushed++;
                        LastWasPushed = true;
                        return _last = pushed;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Time to renew or to poll: go round.
            }
        }
    }

    private RunStatus? _last;

    private async Task RenewIfDueAsync(CancellationToken cancellationToken)
    {
        if (DateTime.UtcNow < _renewAt)
        {
            return;
        }

        _renewAt = DateTime.UtcNow + _renewEvery;
        try
        {
            _reference ??= _client.CreateObjectReference<IRunProgressObserver>(this);
            await _run.SubscribeAsync(_reference, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A silo without progress pushes, or one that is going away: polling still follows the run.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_reference is null)
        {
            return;
        }

        try
        {
            await _run.UnsubscribeAsync(_reference);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The subscription lapses on its own.
        }

        _client.DeleteObjectReference<IRunProgressObserver>(_reference);
        _reference = null;
    }
}
