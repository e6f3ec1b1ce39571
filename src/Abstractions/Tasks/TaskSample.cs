using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Tasks;

/// <summary>
/// What <see cref="ITaskCatalogGrain.SampleAsync"/> draws: <see cref="Count"/> items of a split, by seed; with
/// <see cref="Template"/> (a chat template name: <c>compact</c>, <c>qwen2.5</c>) each demonstration also comes rendered
/// as that template writes it for training.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.task-sample-request.v1")]
public sealed record TaskSampleRequest(
    [property: Id(0)] string Task,
    [property: Id(1)] IReadOnlyDictionary<string, string>? Options = null,
    [property: Id(2)] bool Eval = false,
    [property: Id(3)] int Count = 3,
    [property: Id(4)] int Seed = 0,
    [property: Id(5)] string? Template = null)
{
    /// <summary>The most items one call returns.</summary>
    public const int MaxCount = 100;
}

/// <summary>
/// One sampled item: its id, split (<c>train</c> or <c>eval</c>), prompt, reference answer, documents (for kb-search) and
/// the item itself as a JSON line (the format of <c>EpisodeSpec.ItemJson</c>); and its gold demonstration — system,
/// user, assistant turns with tool calls, tool observations, the final answer — with the tools it was built with (render
/// both with a chat template). When the task cannot demonstrate the item, <see cref="Demonstration"/> is null and
/// <see cref="DemonstrationProblem"/> says why. <see cref="Rendering"/> is the demonstration as the request's chat template
/// renders it (null without a template).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.task-sample.v1")]
public sealed record TaskSample(
    [property: Id(0)] string Id,
    [property: Id(1)] string Split,
    [property: Id(2)] string Prompt,
    [property: Id(3)] string Answer,
    [property: Id(4)] int Documents,
    [property: Id(5)] string ItemJson,
    [property: Id(6)] IReadOnlyList<ChatMessage>? Demonstration,
    [property: Id(7)] IReadOnlyList<ToolSpec> Tools,
    [property: Id(8)] bool ToolResultsAgree,
    [property: Id(9)] string? DemonstrationProblem,
    [property: Id(10)] string? Rendering = null);
