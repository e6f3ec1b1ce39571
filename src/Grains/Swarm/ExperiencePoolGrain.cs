using AgentRl.Abstractions.Swarm;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Pipeline.Swarm;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentRl.Grains.Swarm;

/// <summary>
/// One shard of an experience pool (key <c>{pool}/{shard}</c>): a <see cref="PoolShard"/> whose contents are written to
/// grain storage (<see cref="AgentRlStorage.Name"/>: Redis or ADO.NET on a cluster) before a publish returns, so an
/// acknowledged group survives the loss of the shard's silo. A refused publish, or one whose write fails, leaves the
/// shard as it was.
/// </summary>
public sealed class ExperiencePoolGrain : Grain, IExperiencePoolGrain
{
    private readonly IPersistentState<PoolShardState> _saved;
    private readonly PoolLimits _limits;
    private readonly SharedGroupValidator _validator;
    private readonly ILogger<ExperiencePoolGrain> _logger;
    private PoolShard _shard = null!;

    public ExperiencePoolGrain(TaskCatalog tasks, IOptions<PoolLimits> limits, [PersistentState("pool", AgentRlStorage.Name)] IPersistentState<PoolShardState> saved, ILogger<ExperiencePoolGrain> logger)
    {
        _limits = limits.Value;
        var problems = _limits.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Invalid pool limits: " + string.Join("; ", problems));
        }

        (_saved, _logger) = (saved, logger);
        _validator = new SharedGroupValidator(tasks.Registry, _limits);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = new PoolShard(_limits, _validator, Contents(_saved.State));
        return Task.CompletedTask;
    }

    public async Task<PoolPublishResult> PublishAsync(IReadOnlyList<SharedGroup> groups, CancellationToken cancellationToken = default)
    {
        var before = _shard.Contents();
        var result = _shard.Publish(groups, DateTime.UtcNow);   // a bad group throws before anything changed
        try
        {
            _saved.State = State(_shard.Contents());
            await _saved.WriteStateAsync(cancellationToken);
        }
        catch
        {
            _shard = new PoolShard(_limits, _validator, before);
            _saved.State = State(before);
            throw;
        }

        AgentRlTelemetry.RecordPoolSize(this.GetPrimaryKeyString(), result.Size);
        _logger.LogDebug("Pool {Shard}: {Accepted} stored, {Duplicates} duplicates, {Evicted} evicted, {Size} held", this.GetPrimaryKeyString(), result.Accepted, result.Duplicates, result.Evicted, result.Size);
        return result;
    }

    public Task<PoolDrawResult> DrawAsync(PoolDraw draw, CancellationToken cancellationToken = default) =>
        Task.FromResult(_shard.Draw(draw, DateTime.UtcNow));

    public Task<PoolShardStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        _shard.Evict(DateTime.UtcNow);
        return Task.FromResult(_shard.Status(this.GetPrimaryKeyString(), GrainContext.Address.SiloAddress?.ToString() ?? ""));
    }

    private static PoolShardContents Contents(PoolShardState state) =>
        new(state.Groups, state.GroupSize, state.Accepted, state.Duplicates, state.Evicted);

    private static PoolShardState State(PoolShardContents contents) => new()
    {
        Groups = [.. contents.Groups],
        GroupSize = contents.GroupSize,
        Accepted = contents.Accepted,
        Duplicates = contents.Duplicates,
        Evicted = contents.Evicted,
    };
}
