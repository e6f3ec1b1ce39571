using AgentRl.Abstractions.Cluster;

namespace AgentRl.Grains.Placement;

/// <summary>A grain could not be placed: no active silo has the metadata its placement requires.</summary>
public sealed class NoCompatibleSiloException(string key, string value, string message, Exception inner) : Exception(message, inner)
{
    /// <summary>The required silo metadata key, e.g. <c>agentrl.accelerator</c>.</summary>
    public string Key { get; } = key;

    /// <summary>The required value, e.g. <c>cuda</c>.</summary>
    public string Value { get; } = value;
}

/// <summary>Turns Orleans' "No active nodes are compatible" placement failure into an explanation a user can act on.</summary>
public static class PlacementFailures
{
    private const string OrleansMarker = "No active nodes are compatible";

    /// <summary>True when <paramref name="error"/> (or an inner exception) is Orleans' no-compatible-silo placement failure.</summary>
    public static bool IsNoCompatibleSilo(Exception error) => Find(error) is not null;

    /// <summary>
    /// Returns a <see cref="NoCompatibleSiloException"/> explaining the failure when <paramref name="error"/> is a
    /// no-compatible-silo failure, else null. <paramref name="cpuFallback"/>: the grain may fall back to CPU trainer silos.
    /// </summary>
    public static NoCompatibleSiloException? Explain(Exception error, string key, string value, bool cpuFallback = false)
    {
        if (Find(error) is not { } placement)
        {
            return null;
        }

        var message = cpuFallback
            ? $"no silo with {key}={value} is active; start a GPU silo or allow CPU training "
              + "(AgentRl:Silo:AllowCpuTrainer=true / run config allowCpuTraining)"
            : $"no silo with {key}={value} is active; start a silo whose metadata has {key}={value}";
        return new NoCompatibleSiloException(key, value, message + ". Orleans: " + placement.Message, placement);
    }

    /// <summary>Awaits a grain call; a placement failure is rethrown as <see cref="NoCompatibleSiloException"/>.</summary>
    public static async Task<T> ExplainPlacementFailure<T>(this Task<T> call, string key, string value, bool cpuFallback = false)
    {
        try
        {
            return await call;
        }
        catch (Exception error) when (Explain(error, key, value, cpuFallback) is { } explained)
        {
            throw explained;
        }
    }

    /// <inheritdoc cref="ExplainPlacementFailure{T}(Task{T}, string, string, bool)"/>
    public static async Task ExplainPlacementFailure(this Task call, string key, string value, bool cpuFallback = false)
    {
        try
        {
            await call;
        }
        catch (Exception error) when (Explain(error, key, value, cpuFallback) is { } explained)
        {
            throw explained;
        }
    }

    /// <summary>For calls to grains with <see cref="TrainerPlacementAttribute"/>: explains a missing GPU silo.</summary>
    public static Task<T> ExplainTrainerPlacementFailure<T>(this Task<T> call) =>
        call.ExplainPlacementFailure(SiloMetadataKeys.Accelerator, "cuda", cpuFallback: true);

    /// <inheritdoc cref="ExplainTrainerPlacementFailure{T}(Task{T})"/>
    public static Task ExplainTrainerPlacementFailure(this Task call) =>
        call.ExplainPlacementFailure(SiloMetadataKeys.Accelerator, "cuda", cpuFallback: true);

    private static Exception? Find(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is NoCompatibleSiloException)
            {
                return null;
            }

            if (e.Message.Contains(OrleansMarker, StringComparison.Ordinal))
            {
                return e;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Select(Find).FirstOrDefault(x => x is not null) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }
}
