namespace AgentRl.Policy.Branching;

/// <summary>
/// AEPO entropy pre-monitoring inputs (docs/ALGORITHMS.md §2.1 a): H_root, the entropy of the first tokens sampled from the
/// prompt, and the entropies of every segment of one probe tool-using trajectory (discarded afterwards).
/// </summary>
public sealed record PreMonitorEntropy(double RootEntropy, IReadOnlyList<double> ToolSegmentEntropies);

/// <summary>Chooses N, the number of initial (trajectory-level) samples out of the budget M; M − N is left for forks.</summary>
public interface IBudgetAllocator
{
    /// <summary>The registry name (<see cref="BudgetAllocators.Create"/>).</summary>
    string Name { get; }

    /// <summary>Whether <see cref="InitialTrajectories"/> needs the pre-monitoring probe.</summary>
    bool NeedsPreMonitor { get; }

    /// <summary>N in [1, M].</summary>
    int InitialTrajectories(int totalTrajectories, PreMonitorEntropy? preMonitor = null);
}

/// <summary><c>fixed</c>: N = min(initial, M) (reference <c>initial_rollouts</c>, capped at n).</summary>
public sealed class FixedBudgetAllocator(int initialTrajectories = 8) : IBudgetAllocator
{
    public const string RegistryName = "fixed";

    public int Initial { get; } = initialTrajectories >= 1 ? initialTrajectories : throw new ArgumentOutOfRangeException(nameof(initialTrajectories));

    public string Name => RegistryName;

    public bool NeedsPreMonitor => false;

    public int InitialTrajectories(int totalTrajectories, PreMonitorEntropy? preMonitor = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalTrajectories, 1);
        return Math.Min(Initial, totalTrajectories);
    }
}

/// <summary>
/// <c>aepo-premonitor</c> (§2.1 a, code): H̄_tool = mean of the probe's segment entropies (H_root when it has none),
/// N = clamp(⌊M·σ(β·(H_root − H̄_tool))⌋ + 1, 1, M), β = 0.5.
/// </summary>
public sealed class AepoPreMonitorAllocator(double beta = 0.5) : IBudgetAllocator
{
    public const string RegistryName = "aepo-premonitor";

    public double Beta { get; } = beta;

    public string Name => RegistryName;

    public bool NeedsPreMonitor => true;

    public int InitialTrajectories(int totalTrajectories, PreMonitorEntropy? preMonitor = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalTrajectories, 1);
        ArgumentNullException.ThrowIfNull(preMonitor);
        var tool = preMonitor.ToolSegmentEntropies.Count == 0 ? preMonitor.RootEntropy : preMonitor.ToolSegmentEntropies.Average();
        var sigmoid = 1.0 / (1.0 + Math.Exp(-Beta * (preMonitor.RootEntropy - tool)));
        var n = (long)Math.Floor(totalTrajectories * sigmoid) + 1;
        return (int)Math.Clamp(n, 1, totalTrajectories);
    }
}

/// <summary>Budget allocators chosen by name.</summary>
public static class BudgetAllocators
{
    public static IReadOnlyList<string> Names { get; } = [FixedBudgetAllocator.RegistryName, AepoPreMonitorAllocator.RegistryName];

    public static IBudgetAllocator Create(BranchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.BudgetAllocator switch
        {
            FixedBudgetAllocator.RegistryName => new FixedBudgetAllocator(options.InitialTrajectories),
            AepoPreMonitorAllocator.RegistryName => new AepoPreMonitorAllocator(options.PreMonitorBeta),
            _ => throw new ArgumentException($"Unknown budget allocator '{options.BudgetAllocator}'. Known: {string.Join(", ", Names)}.", nameof(options)),
        };
    }
}
