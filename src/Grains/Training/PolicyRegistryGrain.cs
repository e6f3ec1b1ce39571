using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;

namespace AgentRl.Grains.Training;

/// <summary>
/// The newest published version of a policy and where its weights are. Versions only move forward. The entry is kept in
/// grain storage (<see cref="AgentRlStorage.Name"/>; Redis in a cluster), written before a publish is acknowledged, so a
/// registry whose silo is lost comes back on another silo still naming the newest version and still refusing older ones.
/// </summary>
public sealed class PolicyRegistryGrain([PersistentState("registry", AgentRlStorage.Name)] IPersistentState<PolicyRegistryState> saved) : Grain, IPolicyRegistryGrain
{
    public async Task PublishAsync(PolicyVersionInfo version, CancellationToken cancellationToken = default)
    {
        var latest = saved.State.Latest;
        if (version.Version < (latest?.Version ?? 0))
        {
            throw new InvalidOperationException($"Policy {this.GetPrimaryKeyString()}: version {version.Version} is older than the published {latest!.Version}.");
        }

        saved.State = new PolicyRegistryState { Latest = version };
        await saved.WriteStateAsync(cancellationToken);
    }

    public Task<PolicyVersionInfo> GetLatestAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(saved.State.Latest ?? new PolicyVersionInfo(0, null));
}

/// <summary>What a policy's registry keeps in grain storage: its newest published version.</summary>
[GenerateSerializer, Alias("agentrl.policy-registry-state.v1")]
public sealed record PolicyRegistryState
{
    [Id(0)] public PolicyVersionInfo? Latest { get; init; }
}
