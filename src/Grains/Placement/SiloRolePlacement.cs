using Orleans.Metadata;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace AgentRl.Grains.Placement;

/// <summary>
/// Prefers silos that list <paramref name="role"/> in <c>agentrl.roles</c> (e.g. <c>rollout</c>, <c>tools</c>); when none
/// is active the grain goes to any compatible silo. Combine with <see cref="RequireSiloMetadataAttribute"/> freely.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PreferSiloRoleAttribute(string role)
    : PlacementFilterAttribute(new PreferredSiloRolePlacementFilterStrategy(role))
{
    public string Role { get; } = role;
}

/// <summary>The filter strategy behind <see cref="PreferSiloRoleAttribute"/>; the role lives in the grain manifest.</summary>
public sealed class PreferredSiloRolePlacementFilterStrategy : PlacementFilterStrategy
{
    private const int DefaultOrder = 20;

    /// <summary>For the placement runtime, which initializes the strategy from the grain manifest.</summary>
    public PreferredSiloRolePlacementFilterStrategy()
        : base(DefaultOrder)
    {
    }

    internal PreferredSiloRolePlacementFilterStrategy(string role)
        : base(DefaultOrder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        Role = role;
    }

    public string Role { get; private set; } = "";

    public override void AdditionalInitialize(GrainProperties properties) =>
        Role = GetPlacementFilterGrainProperty("role", properties) ?? throw new InvalidOperationException("grain manifest lacks the preferred silo role");

    protected override IEnumerable<KeyValuePair<string, string>> GetAdditionalGrainProperties(
        IServiceProvider services, Type grainClass, GrainType grainType, IReadOnlyDictionary<string, string> existingProperties)
    {
        yield return new("role", Role);
    }
}

/// <summary>Keeps the candidates with the preferred role when there are any, else all candidates.</summary>
public sealed class PreferredSiloRolePlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var role = ((PreferredSiloRolePlacementFilterStrategy)filterStrategy).Role;
        var candidates = silos as IReadOnlyCollection<SiloAddress> ?? silos.ToList();
        var preferred = candidates.Where(s => SiloRoles.Has(metadata.GetSiloMetadata(s), role)).ToList();
        return preferred.Count > 0 ? preferred : candidates;
    }
}
