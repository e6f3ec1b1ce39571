namespace AgentRl.Abstractions.Swarm;

/// <summary>
/// One shard of a shared experience pool (key <c>{pool}/{shard}</c>; a group's shard is chosen by a hash of its item,
/// <see cref="PoolShards"/>). Holds recent groups of every member of a swarm, bounded in size, persisted in grain storage.
/// </summary>
public interface IExperiencePoolGrain : IGrainWithStringKey
{
    /// <summary>
    /// Checks and stores groups; returns once they are persisted. A bad group (malformed conversation, unknown task, too
    /// many completions, a group size other than the shard's) fails the whole call with <see cref="ArgumentException"/>
    /// naming the group and the problem, and the shard is left unchanged.
    /// </summary>
    Task<PoolPublishResult> PublishAsync(IReadOnlyList<SharedGroup> groups, CancellationToken cancellationToken = default);

    /// <summary>Up to <see cref="PoolDraw.Count"/> groups the receiver can use, chosen as <see cref="PoolDraw.Select"/> says.</summary>
    Task<PoolDrawResult> DrawAsync(PoolDraw draw, CancellationToken cancellationToken = default);

    Task<PoolShardStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}
