using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Tools;

/// <summary>
/// What a tool call produced, as the model will see it. A failed call (bad JSON, unknown tool, bad arguments,
/// an exception in the tool, a timeout) is an observation too: <see cref="IsError"/> is set, <see cref="Text"/>
/// holds the error message the model reads and <see cref="ErrorKind"/> names the failure for metrics.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-observation.v1")]
public sealed record ToolObservation(
    [property: Id(0)] string ToolName,
    [property: Id(1)] string Text,
    [property: Id(2)] bool IsError,
    [property: Id(3)] string? ErrorKind,
    [property: Id(4)] double LatencyMs);

/// <summary>Runs tool calls. The tool catalog implements it; the sandbox grain fronts it per rollout branch.</summary>
public interface IToolExecutor
{
    /// <summary>The tools this executor offers, as the chat template renders them.</summary>
    IReadOnlyList<ToolSpec> Tools { get; }

    /// <summary>Runs one call; never throws for a bad call — failures come back as error observations.</summary>
    Task<ToolObservation> ExecuteAsync(ToolCall call, CancellationToken cancellationToken = default);
}

/// <summary>A short document of a task's knowledge base, searched by <c>kb-search</c>.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.kb-document.v1")]
public sealed record KbDocument(
    [property: Id(0)] string Id,
    [property: Id(1)] string Title,
    [property: Id(2)] string Text);
