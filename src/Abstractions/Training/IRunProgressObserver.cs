namespace AgentRl.Abstractions.Training;

/// <summary>Receives a run's progress pushed by its grain (a client object made into a reference with <c>CreateObjectReference</c>).</summary>
public interface IRunProgressObserver : IGrainObserver
{
    /// <summary>The run's status after a phase or step began or ended, or the run finished.</summary>
    [Orleans.Concurrency.OneWay]
    Task OnProgressAsync(RunStatus status);
}
