namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// What a sandbox offers: the task whose tools (and tool context, e.g. a knowledge base) it serves, and its limits.
/// An empty <see cref="TaskName"/> (no item) offers every catalog tool that needs no knowledge base (<c>agentrl tools call</c>).
/// <see cref="TaskOptions"/> are the run's task options (a task's tools may depend on them, e.g. <c>jsonl</c>'s <c>tools</c>).
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.sandbox-spec.v1")]
public sealed record SandboxSpec(
    [property: Id(0)] string TaskName,
    [property: Id(1)] string ItemJson,
    [property: Id(2)] int MaxToolCalls = 8,
    [property: Id(3)] double CallTimeoutSeconds = 10,
    [property: Id(4)] IReadOnlyDictionary<string, string>? TaskOptions = null);
