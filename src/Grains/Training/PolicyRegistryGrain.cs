using AgentRl.Abstractions.Training;

namespace AgentRl.Grains.Training;

/// <summary>The newest published version of a policy and where its weights are. Versions only move forward.</summary>
public sealed class PolicyRegistryGrain : Grain, IPolicyRegistryGrain
{
    private PolicyVersionInfo _latest = new(0, null);

    public Task PublishAsync(PolicyVersionInfo version, CancellationToken cancellationToken = default)
    {
        if (version.Version < _latest.Version)
        {
            throw new InvalidOperationException($"Policy {this.GetPrimaryKeyString()}: version {version.Version} is older than the published {_latest.Version}.");
        }

        _latest = version;
        return Task.CompletedTask;
    }

    public Task<PolicyVersionInfo> GetLatestAsync(CancellationToken cancellationToken = default) => Task.FromResult(_latest);
}
