namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// One tool call inside a trajectory: what was asked, what came back, where it sits in the token stream, and whether it
/// reached the sandbox (<see cref="Invoked"/>; false for malformed calls and calls past the limit, which a forked child's
/// sandbox must not replay).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.tool-call-record.v1")]
public sealed record ToolCallRecord(
    [property: Id(0)] string Name,
    [property: Id(1)] string ArgumentsJson,
    [property: Id(2)] string Observation,
    [property: Id(3)] bool IsError,
    [property: Id(4)] string? ErrorKind,
    [property: Id(5)] double LatencyMs,
    [property: Id(6)] int ObservationStart,
    [property: Id(7)] int ObservationLength,
    [property: Id(8)] bool Invoked = true);
