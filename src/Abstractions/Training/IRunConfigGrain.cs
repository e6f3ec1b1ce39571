namespace AgentRl.Abstractions.Training;

/// <summary>
/// Run configurations as the silos see them (key: 0). A client checks a configuration here before it starts a run, so a
/// mistake is reported at once and with the cluster's own registries (its algorithms, its tasks and their plug-ins, its
/// tools), and prints what a configuration resolves to without computing any of it itself.
/// </summary>
public interface IRunConfigGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Why <see cref="ITrainingRunGrain.StartAsync"/> would refuse <paramref name="config"/>, or null when it would start:
    /// a limit out of range (<see cref="RunConfig.Validate"/>), an unknown algorithm or an objective, trainer or branching
    /// override the algorithm registry refuses (with the valid names), then the task checks of
    /// <c>ITaskCatalogGrain.ValidateAsync</c> (unknown task or option, bad data, a tool the catalog lacks, no warm start
    /// when the run needs one).
    /// </summary>
    Task<string?> CheckAsync(RunConfig config, CancellationToken cancellationToken = default);

    /// <summary>
    /// <paramref name="config"/> with every value the run will use filled in: the algorithm's objective and trainer options
    /// with the overrides applied (every field, by name), and for a branching algorithm its branching preset.
    /// </summary>
    /// <exception cref="ArgumentException">When <see cref="CheckAsync"/> would name a problem; the message is that problem.</exception>
    Task<RunConfig> ResolveAsync(RunConfig config, CancellationToken cancellationToken = default);
}
