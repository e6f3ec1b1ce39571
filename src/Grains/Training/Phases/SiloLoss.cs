using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training.Phases;

/// <summary>Which failures of a step mean "a silo was lost", so the run redoes the step from its last checkpoint in place.</summary>
public static class SiloLoss
{
    /// <summary>
    /// How long a run keeps redoing a step in place while calls still fail for a lost silo, without getting past the step,
    /// before it fails. Orleans declares a killed silo dead after its probes time out (about 15–30 s by default), and until
    /// then calls can still be routed to it; the window leaves room for that several times over.
    /// </summary>
    public static readonly TimeSpan RecoveryWindow = TimeSpan.FromMinutes(3);

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
