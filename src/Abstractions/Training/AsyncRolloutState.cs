namespace AgentRl.Abstractions.Training;

/// <summary>
/// Where an asynchronous run's training stream stands at a checkpoint (<see cref="RunStateFile.Async"/>): the groups
/// (slots of the stream) consumed by trained batches and how far the stream was admitted. A resume admits the slots in
/// between that were not consumed again, before any new one, and sets AReaL's accepted count to the consumed ones.
/// </summary>
public sealed record AsyncRolloutState
{
    /// <summary>Every slot below this is consumed.</summary>
    public long ConsumedFrontier { get; init; }

    /// <summary>Consumed slots at or above <see cref="ConsumedFrontier"/> (taken out of order: oldest finished first).</summary>
    public IReadOnlyList<long> ConsumedAbove { get; init; } = [];

    /// <summary>The first slot never admitted.</summary>
    public long NextSlot { get; init; }

    /// <summary>Batches trained (the staleness manager's v).</summary>
    public int Version { get; init; }
}
