namespace AgentRl.Abstractions.Swarm;

/// <summary>
/// A swarm's own artifacts beside its members' run folders (<c>{runDir}/{swarm}/{member}/…</c>), written on the silos
/// through <see cref="Training.IRunFilesGrain"/>.
/// </summary>
public static class SwarmFiles
{
    /// <summary>The members' configurations and shared warm starts, for <c>agentrl swarm --resume</c>.</summary>
    public const string DefinitionFileName = "swarm.json";

    /// <summary>One row per (member, RL step).</summary>
    public const string CsvFileName = "swarm.csv";

    /// <summary>The reward of each member per step.</summary>
    public const string PlotFileName = "swarm.png";

    /// <summary>Whether <paramref name="name"/> is a swarm name: one folder name, no '/' or '..'.</summary>
    public static bool IsName(string? name) => Training.RunFiles.IsRunId(name);
}

/// <summary>One row of <c>swarm.csv</c>: a member's RL step.</summary>
/// <param name="Member">The member's run id.</param>
/// <param name="Step">The RL step.</param>
/// <param name="Reward">The step's mean reward.</param>
/// <param name="Accuracy">The step's training accuracy.</param>
/// <param name="ExternalGroups">External groups the step trained on.</param>
/// <param name="CumulativeReward">The sum of the member's step reward means so far, as SAPO reports it.</param>
/// <param name="EvalAccuracy">Held-out accuracy, on steps that evaluated.</param>
[GenerateSerializer, Immutable, Alias("agentrl.swarm-row.v1")]
public sealed record SwarmRow(
    [property: Id(0)] string Member,
    [property: Id(1)] long Step,
    [property: Id(2)] double? Reward,
    [property: Id(3)] double? Accuracy,
    [property: Id(4)] double? ExternalGroups,
    [property: Id(5)] double CumulativeReward,
    [property: Id(6)] double? EvalAccuracy);
