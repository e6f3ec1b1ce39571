namespace AgentRl.Abstractions.Swarm;

/// <summary>How a receiver draws from a pool shard.</summary>
/// <param name="Count">Groups wanted.</param>
/// <param name="ReceiverRunId">The receiving run: its own groups are never drawn.</param>
/// <param name="Task">Only groups of this task are drawn (a receiver can rescore nothing else).</param>
/// <param name="Select"><c>uniform</c>, <c>informative-uniform</c> (only groups whose producer rewards differ) or <c>recent</c>.</param>
/// <param name="MinStep">Groups produced before this step are not drawn (the receiver's step minus <c>maxAgeSteps</c>); 0 = no limit.</param>
/// <param name="Seed">Seed of the uniform choice.</param>
[GenerateSerializer, Immutable, Alias("agentrl.pool-draw.v1")]
public sealed record PoolDraw(
    [property: Id(0)] int Count,
    [property: Id(1)] string ReceiverRunId,
    [property: Id(2)] string Task,
    [property: Id(3)] string Select,
    [property: Id(4)] int MinStep,
    [property: Id(5)] int Seed);

/// <summary>What a shard handed out: a sample of its eligible groups, how many were eligible, and how many it holds.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.pool-draw-result.v1")]
public sealed record PoolDrawResult(
    [property: Id(0)] IReadOnlyList<SharedGroup> Groups,
    [property: Id(1)] int Eligible,
    [property: Id(2)] int Size = 0);
