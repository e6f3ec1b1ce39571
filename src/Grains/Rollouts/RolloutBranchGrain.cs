using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Tools;

namespace AgentRl.Grains.Rollouts;

/// <summary>One trajectory: the multi-turn loop of <see cref="MultiTurnRollout"/>, generating through the local generator grain and calling tools through this branch's sandbox grain.</summary>
[PreferSiloRole("rollout")]
public sealed class RolloutBranchGrain(PolicyHost policies, TaskCatalog tasks, ToolRuntime tools) : Grain, IRolloutBranchGrain
{
    public async Task<Trajectory> RunAsync(BranchSpec spec, CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        var policy = policies.Get(spec.PolicyId);
        var task = tasks.Get(spec.TaskName);
        var item = TaskCatalog.FromJson(spec.ItemJson);
        var sandbox = GrainFactory.GetGrain<IToolSandboxGrain>(key);
        var generator = GrainFactory.GetGrain<IGeneratorGrain>(spec.PolicyId);
        await sandbox.OpenAsync(new SandboxSpec(spec.TaskName, spec.ItemJson, spec.Limits.MaxToolCalls, spec.Limits.ToolTimeoutSeconds), [], cancellationToken);
        try
        {
            var toolSpecs = await sandbox.GetToolsAsync(cancellationToken);
            var rollout = new MultiTurnRollout(policy.Template, tools.Parser, spec.Limits, spec.MinPolicyVersion);
            return await rollout.RunAsync(
                spec.GroupId,
                BranchPath(key),
                task.SystemPrompt,
                item.Prompt,
                toolSpecs,
                spec.Sampling,
                spec.Seed,
                (request, ct) => generator.GenerateAsync(request, ct),
                (call, ct) => sandbox.InvokeAsync(call, ct),
                cancellationToken);
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
