using System.Diagnostics;
using AgentRl.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace AgentRl.Grains.Training.Phases;

/// <summary>
/// Times the phases of one step: each runs under its name, which is shown as the run's current phase, logged with its
/// duration, reported as <c>perf/phase/{Phase}_s</c>, traced as a span <c>agentrl.phase.{Phase}</c> and recorded in the
/// histogram <c>agentrl.phase.duration</c>.
/// </summary>
public sealed class PhaseClock(string runId, int step, Action<string> enter, ILogger logger)
{
    private readonly Dictionary<string, double> _seconds = [];

    /// <summary>The duration of each phase run so far, in seconds.</summary>
    public IReadOnlyDictionary<string, double> Seconds => _seconds;

    public async Task<T> RunAsync<T>(string phase, Func<Task<T>> body)
    {
        using var span = AgentRlTelemetry.StartPhase(runId, step, phase);
        var clock = Enter(phase);
        var result = await body();
        Leave(phase, clock);
        return result;
    }

    public async Task RunAsync(string phase, Func<Task> body)
    {
        using var span = AgentRlTelemetry.StartPhase(runId, step, phase);
        var clock = Enter(phase);
        await body();
        Leave(phase, clock);
    }

    public T Run<T>(string phase, Func<T> body)
    {
        using var span = AgentRlTelemetry.StartPhase(runId, step, phase);
        var clock = Enter(phase);
        var result = body();
        Leave(phase, clock);
        return result;
    }

    /// <summary><c>perf/phase/{Phase}_s</c> of every phase run.</summary>
    public IEnumerable<KeyValuePair<string, double>> Metrics() =>
        _seconds.Select(p => KeyValuePair.Create($"perf/phase/{p.Key}_s", p.Value));

    private Stopwatch Enter(string phase)
    {
        logger.LogInformation("Run {RunId} step {Step}: {Phase}", runId, step, phase);
        enter(phase);
        return Stopwatch.StartNew();
    }

    private void Leave(string phase, Stopwatch clock)
    {
        _seconds[phase] = clock.Elapsed.TotalSeconds;
        AgentRlTelemetry.RecordPhase(runId, phase, _seconds[phase]);
        logger.LogDebug("Run {RunId} step {Step}: {Phase} took {Seconds:0.000} s", runId, step, phase, _seconds[phase]);
    }
}
