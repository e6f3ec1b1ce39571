namespace AgentRl.Abstractions.Training;

/// <summary>One training run (key: run id): the step loop of docs/ARCHITECTURE.md §4 as named, timed phases.</summary>
public interface ITrainingRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run in the background; returns at once. Fails if the run is already going.</summary>
    Task StartAsync(RunConfig config, CancellationToken cancellationToken = default);

    Task<RunStatus> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Asks the run to stop after the step in flight (or after the warm start); it then ends in state Stopped.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes an observer to this run's progress (each phase and step, and the end) and sends it the current status at
    /// once. Observers are not durable: a subscription expires unless renewed (call again) within the silo's
    /// subscription lifetime (<see cref="RunProgress.SubscriptionLifetime"/> by default), and a run that moves to another
    /// silo forgets them.
    /// </summary>
    Task SubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default);

    Task UnsubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default);
}
