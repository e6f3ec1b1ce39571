using System.Text.Json.Serialization;

namespace AgentRl.Abstractions.Training;

/// <summary>Where a run is in its life. <see cref="Completed"/>, <see cref="Stopped"/> and <see cref="Failed"/> are final.</summary>
[GenerateSerializer]
[JsonConverter(typeof(JsonStringEnumConverter<RunState>))]
public enum RunState
{
    /// <summary>Not started (a run grain nobody started).</summary>
    Pending,

    /// <summary>Started; the trainer is being placed and initialised.</summary>
    Starting,

    /// <summary>Taken up again after a lost silo, or resumed from its last checkpoint.</summary>
    Resuming,

    /// <summary>The initial evaluation before any training.</summary>
    Evaluating,

    /// <summary>The warm start (SFT on demonstrations).</summary>
    WarmStart,

    /// <summary>RL steps.</summary>
    Training,

    /// <summary>Finished every step (or the warm start of an <c>sft</c> run).</summary>
    Completed,

    /// <summary>Stopped on request before its last step.</summary>
    Stopped,

    /// <summary>Failed; <see cref="RunStatus.Error"/> says why.</summary>
    Failed,

    /// <summary>
    /// Waiting out a storage outage (<see cref="RunConfig.StorageOutageTimeout"/>); <see cref="RunStatus.Phase"/> says which
    /// storage and when the next try is. It goes on from its last checkpoint by itself when storage answers.
    /// </summary>
    Paused,
}
