using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>Which failures of a step mean "a silo was lost", so the run redoes the step from its last checkpoint in place.</summary>
public static class SiloLoss
{
    /// <summary>Silo losses a run survives in place, one after another, before it fails.</summary>
    public const int MaxInPlaceRecoveries = 5;

    /// <summary>
    /// A call failed because the silo it went to (or came from) left the cluster, or a grain lost its state with it (a
    /// trainer not initialized, a registry that no longer lists the current version).
    /// </summary>
    public static bool Is(Exception e) => e switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or TrainerNotInitializedException or PolicyVersionNotPublishedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(Is),
        _ => e.InnerException is { } inner && Is(inner),
    };
}
