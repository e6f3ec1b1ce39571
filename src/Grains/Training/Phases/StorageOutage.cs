using AgentRl.Policy.Checkpoints;
using Orleans.Serialization;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// Which failures of a run mean "storage is unreachable" — the blob checkpoint or run store past its client's retries, or
/// Redis behind grain storage — so the run pauses and tries again from its last checkpoint instead of failing.
/// </summary>
public static class StorageOutage
{
    public static bool Is(Exception e) => e switch
    {
        CheckpointNotFoundException => false,
        CheckpointStoreException => true,
        UnavailableExceptionFallbackException { ExceptionType: { } type } => type.Contains(nameof(CheckpointStoreException), StringComparison.Ordinal)
            || type.StartsWith("StackExchange.Redis.Redis", StringComparison.Ordinal),
        _ when e.GetType().FullName is { } name && name.StartsWith("StackExchange.Redis.Redis", StringComparison.Ordinal) => true,   // RedisConnectionException, RedisTimeoutException
        AggregateException aggregate => aggregate.InnerExceptions.Any(Is),
        _ => e.InnerException is { } inner && Is(inner),
    };

    /// <summary>The first line of the innermost storage error: what the user is told while the run waits.</summary>
    public static string Reason(Exception e)
    {
        var cause = e;
        while (cause is not CheckpointStoreException && cause.InnerException is { } inner && Is(inner))
        {
            cause = inner;
        }

        return cause.Message.Split('\n', 2)[0].TrimEnd('\r');
    }
}

/// <summary>
/// The clock of one storage outage: how long the run has waited, and how long to wait before the next try (2 s, doubling
/// to 30 s). An outage ends when the run gets past the step it was in; one that outlasts the timeout fails the run.
/// </summary>
/// <param name="timeout">How long an outage may last (<c>storageOutageTimeout</c>).</param>
public sealed class OutageClock(TimeSpan timeout)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    private DateTimeOffset? _since;
    private long _step;
    private TimeSpan _delay;

    /// <summary>When the outage began, or null when there is none.</summary>
    public DateTimeOffset? Since => _since;

    /// <summary>
    /// A storage failure at <paramref name="now"/> while the run had finished <paramref name="step"/> steps: the wait before
    /// the next try, or null when the outage has lasted as long as the timeout. A failure after the run got further than
    /// at the outage's start begins a new outage.
    /// </summary>
    public TimeSpan? Failed(DateTimeOffset now, long step)
    {
        if (_since is null || step > _step)
        {
            (_since, _step, _delay) = (now, step, FirstDelay);
        }
        else
        {
            _delay = _delay * 2 < MaxDelay ? _delay * 2 : MaxDelay;
        }

        var waited = now - _since.Value;
        if (waited >= timeout)
        {
            return null;
        }

        var left = timeout - waited;
        return _delay < left ? _delay : left;
    }
}
