namespace AgentRl.Abstractions.Training;

/// <summary>The current version of a policy (key: policy id); generators load it before generating with it.</summary>
public interface IPolicyRegistryGrain : IGrainWithStringKey
{
    Task PublishAsync(PolicyVersionInfo version, CancellationToken cancellationToken = default);

    Task<PolicyVersionInfo> GetLatestAsync(CancellationToken cancellationToken = default);
}
