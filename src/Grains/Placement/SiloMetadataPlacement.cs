using System.Globalization;
using AgentRl.Abstractions.Cluster;
using Orleans.Metadata;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace AgentRl.Grains.Placement;

/// <summary>
/// Pins a grain class to silos whose metadata has <c>key=value</c>, e.g.
/// <c>[RequireSiloMetadata(SiloMetadataKeys.Accelerator, "cuda")]</c>. Fails closed: with no such silo active, the call
/// fails with Orleans' "No active nodes are compatible" (see <see cref="PlacementFailures"/> for a readable message).
/// The trainer variant, <see cref="TrainerPlacementAttribute"/>, adds a CPU fallback: while no matching silo is active
/// and CPU training is allowed (a silo's <c>AgentRl:Silo:AllowCpuTrainer</c>, or the caller's
/// <see cref="PlacementRequestContext.AllowCpuTrainer"/>), silos with the <c>trainer</c> role take the grain.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RequireSiloMetadataAttribute(string key, string value)
    : PlacementFilterAttribute(new RequiredSiloMetadataPlacementFilterStrategy(key, value, cpuFallbackRole: null, order: RequiredSiloMetadataPlacementFilterStrategy.DefaultOrder))
{
    public string Key { get; } = key;

    public string Value { get; } = value;
}

/// <summary>
/// Placement of trainers: silos with <c>agentrl.accelerator=cuda</c>; when none is active and CPU training is allowed,
/// silos with the <c>trainer</c> role. Fails closed otherwise.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class TrainerPlacementAttribute()
    : PlacementFilterAttribute(new RequiredSiloMetadataPlacementFilterStrategy(
        SiloMetadataKeys.Accelerator, "cuda", cpuFallbackRole: "trainer", order: RequiredSiloMetadataPlacementFilterStrategy.DefaultOrder));

/// <summary>The filter strategy behind <see cref="RequireSiloMetadataAttribute"/>: key, value and fallback live in the grain manifest.</summary>
public sealed class RequiredSiloMetadataPlacementFilterStrategy : PlacementFilterStrategy
{
    internal const int DefaultOrder = 10;

    /// <summary>For the placement runtime, which initializes the strategy from the grain manifest.</summary>
    public RequiredSiloMetadataPlacementFilterStrategy()
        : base(DefaultOrder)
    {
    }

    internal RequiredSiloMetadataPlacementFilterStrategy(string key, string value, string? cpuFallbackRole, int order)
        : base(order)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Key = key;
        Value = value;
        CpuFallbackRole = cpuFallbackRole;
    }

    public string Key { get; private set; } = "";

    public string Value { get; private set; } = "";

    /// <summary>Role whose silos may host the grain while no matching silo is active and CPU training is allowed; null = never.</summary>
    public string? CpuFallbackRole { get; private set; }

    public override void AdditionalInitialize(GrainProperties properties)
    {
        Key = GetPlacementFilterGrainProperty("key", properties) ?? throw new InvalidOperationException("grain manifest lacks the required silo metadata key");
        Value = GetPlacementFilterGrainProperty("value", properties) ?? throw new InvalidOperationException("grain manifest lacks the required silo metadata value");
        var fallback = GetPlacementFilterGrainProperty("cpu-fallback-role", properties);
        CpuFallbackRole = string.IsNullOrEmpty(fallback) ? null : fallback;
    }

    protected override IEnumerable<KeyValuePair<string, string>> GetAdditionalGrainProperties(
        IServiceProvider services, Type grainClass, GrainType grainType, IReadOnlyDictionary<string, string> existingProperties)
    {
        yield return new("key", Key);
        yield return new("value", Value);
        yield return new("cpu-fallback-role", CpuFallbackRole ?? "");
    }
}

/// <summary>
/// Runs on the placing silo: keeps the candidates whose metadata matches; with none and a permitted CPU fallback,
/// the candidates with the fallback role that allow CPU training (or all of them when the request allows it).
/// </summary>
public sealed class RequiredSiloMetadataPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var strategy = (RequiredSiloMetadataPlacementFilterStrategy)filterStrategy;
        var candidates = silos as IReadOnlyCollection<SiloAddress> ?? silos.ToList();
        var matching = candidates.Where(s => Has(s, strategy.Key, strategy.Value)).ToList();
        if (matching.Count > 0 || strategy.CpuFallbackRole is not { } role)
        {
            return matching;
        }

        var requestAllows = PlacementRequestContext.Allows(target.RequestContextData);
        return candidates
            .Where(s => SiloRoles.Has(metadata.GetSiloMetadata(s), role)
                && (requestAllows || Has(s, SiloMetadataKeys.AllowCpuTrainer, "true")))
            .ToList();
    }

    private bool Has(SiloAddress silo, string key, string value) =>
        metadata.GetSiloMetadata(silo).Metadata.TryGetValue(key, out var actual) && string.Equals(actual, value, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Lets a caller (a run whose config allows CPU training) permit the CPU-trainer fallback for the grains it activates.</summary>
public static class PlacementRequestContext
{
    /// <summary>Request-context key; its value <c>true</c> permits the CPU fallback of <see cref="TrainerPlacementAttribute"/>.</summary>
    public const string AllowCpuTrainerKey = "agentrl.allow-cpu-trainer";

    /// <summary>
    /// Permits the CPU-trainer fallback for calls made on this async flow until the returned scope is disposed.
    /// Orleans' <see cref="RequestContext"/> carries it to the placing silo.
    /// </summary>
    public static IDisposable AllowCpuTrainer()
    {
        var previous = RequestContext.Get(AllowCpuTrainerKey);
        RequestContext.Set(AllowCpuTrainerKey, "true");
        return new Restore(previous);
    }

    internal static bool Allows(Dictionary<string, object>? requestContext) =>
        requestContext is not null
        && requestContext.TryGetValue(AllowCpuTrainerKey, out var value)
        && string.Equals(Convert.ToString(value, CultureInfo.InvariantCulture), "true", StringComparison.OrdinalIgnoreCase);

    private sealed class Restore(object? previous) : IDisposable
    {
        public void Dispose()
        {
            if (previous is null)
            {
                RequestContext.Remove(AllowCpuTrainerKey);
            }
            else
            {
                RequestContext.Set(AllowCpuTrainerKey, previous);
            }
        }
    }
}

internal static class SiloRoles
{
    public static bool Has(SiloMetadata metadata, string role) =>
        metadata.Metadata.TryGetValue(SiloMetadataKeys.Roles, out var roles)
        && roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(role, StringComparer.OrdinalIgnoreCase);
}
