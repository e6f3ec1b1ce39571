using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Grains.Tools;
using AgentRl.Pipeline.Rollouts;

namespace AgentRl.Grains.Rollouts;

/// <summary>
/// One trajectory: the multi-turn loop of <see cref="MultiTurnRollout"/>, generating through the local generator grain and
/// calling tools through this branch's sandbox grain. A forked child first rebuilds its sandbox by replaying the parent's
/// calls up to the fork, counts replayed observations that differ from the parent's recorded ones, then continues the
/// parent's tokens from the fork. The generator's engine reuses the shared prefix's keys and values through its prefix
/// cache (<c>InferenceEngineOptions.PrefixCacheEntries</c>) when the parent's sequence is still retained.
/// </summary>
[PreferSiloRole("rollout")]
public sealed class RolloutBranchGrain(PolicyHost policies, TaskCatalog tasks, ToolRuntime tools) : Grain, IRolloutBranchGrain
{
    public async Task<Trajectory> RunAsync(BranchSpec spec, CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        using var span = AgentRlTelemetry.StartBranch(key, spec.MinPolicyVersion, forked: spec.Parent is not null);
        if (spec.Parent is not null)
        {
            AgentRlTelemetry.RecordFork(AgentRlTelemetry.RunIdOf(key));
        }

        var policy = policies.Get(spec.PolicyId);
        var task = tasks.Get(spec.TaskName, spec.TaskOptions);
        var item = TaskCatalog.FromJson(spec.ItemJson);
        var sandbox = GrainFactory.GetGrain<IToolSandboxGrain>(key);
        var generator = GrainFactory.GetGrain<IGeneratorGrain>(spec.PolicyId);
        var history = spec.Parent is null ? [] : MultiTurnRollout.ReplayHistory(spec.Parent, spec.ForkPosition);
        var replayed = await sandbox.OpenAsync(
            new SandboxSpec(spec.TaskName, spec.ItemJson, spec.Limits.MaxToolCalls, spec.Limits.ToolTimeoutSeconds, spec.TaskOptions),
            [.. history.Select(c => new ToolCall(c.Name, c.ArgumentsJson))],
            cancellationToken);
        try
        {
            var toolSpecs = await sandbox.GetToolsAsync(cancellationToken);
            var rollout = new MultiTurnRollout(policy.Template, tools.Parser, spec.Limits, spec.MinPolicyVersion);
            var trajectory = await rollout.RunAsync(
                spec.GroupId,
                BranchPath(key),
                task.SystemPrompt,
                item.Prompt,
                toolSpecs,
                spec.Sampling,
                spec.Seed,
                (request, ct) => generator.GenerateAsync(request, ct),
                (call, ct) => sandbox.InvokeAsync(call, ct),
                cancellationToken,
                spec.Parent,
                spec.ForkPosition);
            return spec.Parent is null ? trajectory : trajectory with
            {
                ReplayedToolCalls = history.Count,
                ReplayMismatches = MultiTurnRollout.CountMismatches(history, replayed),
            };
        }
        finally
        {
            await sandbox.CloseAsync(CancellationToken.None);
            DeactivateOnIdle();
        }
    }

    /// <summary>The path part of a branch key <c>{episode}/{path}</c>.</summary>
    public static string BranchPath(string key) => key[(key.LastIndexOf('/') + 1)..];
}
