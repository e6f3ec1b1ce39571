namespace AgentRl.Abstractions.Tasks;

/// <summary>
/// The silo's task registry (key: 0): the bundled tasks and the plug-ins of its <c>AgentRl:Tasks:Plugins</c>, so that a
/// client lists, checks and samples exactly the tasks a run on this cluster can use. Option names are camelCase, as a
/// run's <c>taskOptions.*</c>.
/// </summary>
public interface ITaskCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every task the silo knows, sorted by name (what <c>agentrl tasks list</c> shows).</summary>
    Task<IReadOnlyList<CatalogTask>> GetTasksAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Why a run could not use task <paramref name="task"/> with <paramref name="options"/> on this silo — an unknown task
    /// (with the known names and a did-you-mean), an unknown option or bad value, bad data (a <c>jsonl</c> file's line), a
    /// tool the tool catalog lacks, and with <paramref name="warmStart"/> a task that cannot build demonstrations — or null
    /// when it can. The same checks refuse <c>ITrainingRunGrain.StartAsync</c>.
    /// </summary>
    Task<string?> ValidateAsync(string task, IReadOnlyDictionary<string, string>? options = null, bool warmStart = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Items of a task with their gold demonstrations, built on the silo with its real tools (python-run in its sandbox,
    /// kb-search over the item's documents).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown task, option or value, or a count outside 1..<see cref="TaskSampleRequest.MaxCount"/>.</exception>
    Task<IReadOnlyList<TaskSample>> SampleAsync(TaskSampleRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// <paramref name="count"/> items of a task's train or held-out split as JSON lines (the JSONL item format episodes
    /// take: <c>EpisodeSpec.ItemJson</c>); the same seed gives the same items, as a run's Evaluate phase uses them.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown task, option or value, or a negative count.</exception>
    Task<IReadOnlyList<string>> GetItemsAsync(string task, IReadOnlyDictionary<string, string>? options, bool eval, int count, int seed, CancellationToken cancellationToken = default);
}
