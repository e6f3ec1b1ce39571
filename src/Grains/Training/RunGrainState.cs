using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training;

/// <summary>
/// What the cluster keeps of a run in grain storage (<see cref="Hosting.AgentRlStorage.Name"/>), so that a run whose silo is
/// lost is taken up again on another silo: its configuration, whether it should be going, and a fencing epoch.
/// Progress itself (last completed step, trainer state) lives in the run directory (<see cref="RunStateFile"/>).
/// </summary>
[GenerateSerializer, Alias("agentrl.run-grain-state.v1")]
public sealed record RunGrainState
{
    /// <summary>The configuration the run was started with (run id resolved).</summary>
    [Id(0)] public RunConfig? Config { get; init; }

    /// <summary>True from start until the run ends (Completed, Stopped, Failed): an activation finding it true resumes the run.</summary>
    [Id(1)] public bool Active { get; init; }

    /// <summary>Raised by every start and every take-over; a loop of an older epoch (a lost silo's) writes nothing more.</summary>
    [Id(2)] public long Epoch { get; init; }

    /// <summary>Identifies one start of the run, so a take-over never resumes from an earlier run's files with the same id.</summary>
    [Id(3)] public string StartId { get; init; } = "";

    /// <summary>Take-overs and in-place recoveries so far.</summary>
    [Id(4)] public int Recoveries { get; init; }
}

/// <summary>A newer activation of the run (after a take-over) owns its files; the older loop stops without writing.</summary>
public sealed class RunSupersededException(string message) : Exception(message);
