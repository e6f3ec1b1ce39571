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
