using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tools;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Tools.Catalog;
using Microsoft.Extensions.Logging;
using Orleans.Placement;

namespace AgentRl.Grains.Tools;

/// <summary>
/// One rollout branch's tool session. Placed on the silo of its first caller (the branch), so tool calls stay local.
/// Kills its processes when closed or deactivated.
/// </summary>
[PreferLocalPlacement]
public sealed class ToolSandboxGrain(ToolRuntime runtime, TaskCatalog tasks, ILogger<ToolSandboxGrain> logger) : Grain, IToolSandboxGrain
{
    private readonly List<ToolCallRecord> _history = [];
    private ToolSession? _session;
    private SandboxSpec? _spec;

    public async Task<IReadOnlyList<ToolObservation>> OpenAsync(SandboxSpec spec, IReadOnlyList<ToolCall> history, CancellationToken cancellationToken = default)
    {
        CloseSession();
        if (spec.TaskName.Length == 0)
        {
            // No task: every tool that needs no task context (agentrl tools call).
            _session = runtime.Catalog.OpenSession(
                runtime.Catalog.ToolNames.Where(name => !runtime.Catalog.NeedsKnowledgeBase(name)),
                new ToolSessionContext { CallTimeout = TimeSpan.FromSeconds(spec.CallTimeoutSeconds) });
        }
        else
        {
            var task = tasks.Get(spec.TaskName, spec.TaskOptions);
            var item = TaskCatalog.FromJson(spec.ItemJson);
            var context = task.GetToolContext(item);
            _session = runtime.Catalog.OpenSession(context.AllowedTools, new ToolSessionContext
            {
                CallTimeout = TimeSpan.FromSeconds(spec.CallTimeoutSeconds),
                KnowledgeBase = context.Documents,
                KnowledgeBaseKey = context.Documents.Count > 0 ? $"{item.Task}/{item.Id}" : null,
            });
        }

        _spec = spec;
        var replayed = new List<ToolObservation>(history.Count);
        foreach (var call in history)
        {
            replayed.Add(await InvokeAsync(call, cancellationToken));
        }

        return replayed;
    }

    public Task<IReadOnlyList<ToolSpec>> GetToolsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(Session.Tools);

    public async Task<ToolObservation> InvokeAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        var session = Session;
        using var span = AgentRlTelemetry.StartToolCall(this.GetPrimaryKeyString(), call.Name);
        ToolObservation observation;
        if (_history.Count >= _spec!.MaxToolCalls)
        {
            observation = new ToolObservation(call.Name, $"Tool-call limit reached ({_spec.MaxToolCalls} per episode); answer now.", true, "tool_call_limit", 0);
        }
        else
        {
            // The session enforces the per-call timeout (spec.CallTimeoutSeconds) and reports it as an observation.
            await runtime.Concurrency.WaitAsync(cancellationToken);
            try
            {
                observation = await session.ExecuteAsync(call, cancellationToken);
            }
            finally
            {
                runtime.Concurrency.Release();
            }
        }

        if (observation.IsError)
        {
            logger.LogDebug("Sandbox {Sandbox}: {Tool} failed ({ErrorKind}) in {LatencyMs:0} ms", this.GetPrimaryKeyString(), call.Name, observation.ErrorKind, observation.LatencyMs);
        }

        AgentRlTelemetry.RecordToolCall(AgentRlTelemetry.RunIdOf(this.GetPrimaryKeyString()), call.Name, observation.ErrorKind, observation.IsError, observation.LatencyMs);
        span?.SetTag("is_error", observation.IsError).SetTag(AgentRlTelemetry.ErrorKindTag, observation.ErrorKind);
        _history.Add(new ToolCallRecord(call.Name, call.ArgumentsJson, observation.Text, observation.IsError, observation.ErrorKind, observation.LatencyMs, 0, 0));
        return observation;
    }

    public Task<IReadOnlyList<ToolCallRecord>> GetHistoryAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ToolCallRecord>>([.. _history]);

    public Task CloseAsync(CancellationToken cancellationToken = default)
    {
        CloseSession();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        CloseSession();
        return Task.CompletedTask;
    }

    private ToolSession Session => _session ?? throw new InvalidOperationException($"Sandbox {this.GetPrimaryKeyString()} is not open; call OpenAsync first.");

    private void CloseSession()
    {
        _session?.Dispose();
        _session = null;
        _history.Clear();
    }
}
