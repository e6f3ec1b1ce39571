using System.Diagnostics;
using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// A run's status and the observers it is pushed to. Every change of state, phase or step is pushed at once (one-way
/// calls); subscriptions lapse after <c>lifetime</c> unless renewed. Statuses carry the activation's epoch and a sequence
/// number, so a client can drop pushes that arrive out of order.
/// </summary>
public sealed class RunProgressHub(TimeSpan lifetime, Func<long> epoch, Func<string> silo)
{
    private readonly Dictionary<IRunProgressObserver, DateTime> _observers = [];
    private readonly Stopwatch _clock = new();
    private RunStatus _status = new() { RunId = "", State = RunState.Pending };
    private long _sequence;

    /// <summary>The status as a client sees it now.</summary>
    public RunStatus Current => _status with { ElapsedSeconds = _clock.Elapsed.TotalSeconds, Epoch = epoch(), Sequence = _sequence, Silo = silo() };

    /// <summary>Starts a new status (a start or take-over of the run); the elapsed time counts from here.</summary>
    public void Reset(RunStatus status)
    {
        _clock.Restart();
        _status = status;
    }

    /// <summary>Changes fields without pushing (the next push carries them).</summary>
    public void Update(Func<RunStatus, RunStatus> change) => _status = change(_status);

    /// <summary>Changes state, phase or step and pushes the status.</summary>
    public void Set(RunState? state = null, string? phase = null, int? step = null)
    {
        _status = _status with { State = state ?? _status.State, Phase = phase ?? _status.Phase, Step = step ?? _status.Step };
        Notify();
    }

    public Task SubscribeAsync(IRunProgressObserver observer)
    {
        _observers[observer] = DateTime.UtcNow + lifetime;
        return observer.OnProgressAsync(Current);
    }

    public void Unsubscribe(IRunProgressObserver observer) => _observers.Remove(observer);

    /// <summary>Pushes the status to subscribed observers, dropping lapsed subscriptions.</summary>
    public void Notify()
    {
        if (_observers.Count == 0)
        {
            return;
        }

        var now = DateTime.UtcNow;
        foreach (var lapsed in _observers.Where(o => o.Value < now).Select(o => o.Key).ToList())
        {
            _observers.Remove(lapsed);
        }

        _sequence++;
        var status = Current;
        foreach (var observer in _observers.Keys)
        {
            observer.OnProgressAsync(status).Ignore();
        }
    }
}
