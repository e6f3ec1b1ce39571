using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Abstractions.Rollouts;

/// <summary>
/// One rollout branch's tool session (key: the branch key): its tools, limits and call history. A forked branch's
/// sandbox is rebuilt by replaying the parent's calls.
/// </summary>
public interface IToolSandboxGrain : IGrainWithStringKey
{
    /// <summary>Opens (or re-opens) the session; replays <paramref name="history"/> and returns the replayed observations.</summary>
    Task<IReadOnlyList<ToolObservation>> OpenAsync(SandboxSpec spec, IReadOnlyList<ToolCall> history, CancellationToken cancellationToken = default);

    /// <summary>The tools as the chat template renders them.</summary>
    Task<IReadOnlyList<ToolSpec>> GetToolsAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs a call; every failure (including the limit and the timeout) is an error observation.</summary>
    Task<ToolObservation> InvokeAsync(ToolCall call, CancellationToken cancellationToken = default);

    /// <summary>The calls made so far, in order, with their observations.</summary>
    Task<IReadOnlyList<ToolCallRecord>> GetHistoryAsync(CancellationToken cancellationToken = default);

    /// <summary>Ends the session: kills its processes and deactivates.</summary>
    Task CloseAsync(CancellationToken cancellationToken = default);
}
