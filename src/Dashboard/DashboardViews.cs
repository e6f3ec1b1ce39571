namespace AgentRl.Dashboard;

/// <summary>A run as the dashboard's run table shows it.</summary>
/// <param name="RunId">The run id.</param>
/// <param name="State">The cluster's state of the run, else its files' (<c>Interrupted</c>, <c>Unknown</c>: see <c>RunSummary</c>).</param>
/// <param name="Live">Whether the cluster is running it now.</param>
/// <param name="Phase">The phase in flight, when live.</param>
/// <param name="Step">The last step done.</param>
/// <param name="Steps">The steps it was configured for.</param>
/// <param name="Accuracy">Rollout accuracy of the last step.</param>
/// <param name="EvalAccuracy">The last held-out accuracy.</param>
/// <param name="EtaSeconds">Time left by the run's own estimate, when live.</param>
/// <param name="Algorithm">The run's algorithm.</param>
/// <param name="Swarm">The swarm's pool, for a member of a swarm.</param>
/// <param name="Error">Why it failed, when it did.</param>
public sealed record RunRow(string RunId, string State, bool Live, string? Phase, int Step, int? Steps, double? Accuracy, double? EvalAccuracy, double? EtaSeconds, string? Algorithm, string? Swarm, string? Error);

/// <summary>A curve the dashboard draws: a title and the <c>metrics.csv</c> column it reads.</summary>
public sealed record CurveSpec(string Column, string Title);

/// <summary>The logged trajectories of one step of a run, by group, with the steps that have any.</summary>
public sealed record TrajectoryPage(string RunId, long? Step, IReadOnlyList<long> Steps, string? Algorithm, string? Attribution, IReadOnlyList<TrajectoryGroupView> Groups);

/// <summary>
/// One group (episode) of a step. For a rollout tree (<see cref="IsTree"/>), <see cref="Nodes"/> are its trajectories in
/// tree order (a parent before its children), each showing only the messages after the prefix it shares with its parent.
/// </summary>
public sealed record TrajectoryGroupView(string GroupId, bool IsTree, string? Attribution, IReadOnlyList<TrajectoryNodeView> Nodes);

/// <summary>A trajectory of a group, placed in its tree.</summary>
/// <param name="BranchPath">Its path (<c>0</c>, <c>0.1</c>).</param>
/// <param name="ParentPath">Its parent's path, for a forked child.</param>
/// <param name="ForkPosition">The token offset it continues its parent from.</param>
/// <param name="ForkEntropyDelta">ΔH at its fork point, when logged.</param>
/// <param name="Depth">Forks above it.</param>
/// <param name="Children">The paths forked from it.</param>
/// <param name="IsLeaf">Whether nothing forked from it.</param>
/// <param name="Reward">Its reward.</param>
/// <param name="RewardParts">The reward's named parts.</param>
/// <param name="FinishReason">Why it ended.</param>
/// <param name="Error">The infrastructure error that ended it.</param>
/// <param name="GoldAnswer">The item's reference answer.</param>
/// <param name="SharedMessages">Leading messages it shares with its parent (shown under the parent only).</param>
/// <param name="Messages">Its messages after the shared ones, each with its tokens.</param>
/// <param name="HasEntropies">Whether the log recorded per-token entropy (logs of earlier versions did not).</param>
public sealed record TrajectoryNodeView(
    string BranchPath,
    string? ParentPath,
    int? ForkPosition,
    double? ForkEntropyDelta,
    int Depth,
    IReadOnlyList<string> Children,
    bool IsLeaf,
    double Reward,
    IReadOnlyDictionary<string, double>? RewardParts,
    string? FinishReason,
    string? Error,
    string? GoldAnswer,
    int SharedMessages,
    IReadOnlyList<MessageView> Messages,
    bool HasEntropies);

/// <summary>A message and its tokens: ids, loss mask (1 = trained on) and entropy, when the log aligns them.</summary>
public sealed record MessageView(string Role, string Content, string? ToolName, IReadOnlyList<ToolCallView>? ToolCalls, int? TokenStart, IReadOnlyList<int>? Ids, IReadOnlyList<int>? Mask, IReadOnlyList<float>? Entropies);

/// <summary>A tool call as the model wrote it.</summary>
public sealed record ToolCallView(string Name, string Arguments);
