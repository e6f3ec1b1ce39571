namespace AgentRl.Policy.Branching;

/// <summary>The state a branch decision looks at, for one path after one tool call.</summary>
/// <param name="EntropyDelta">ΔH = Ĥ(segment) − H_init(path) (see <see cref="EntropyBaselines"/>).</param>
/// <param name="ConsecutiveBranchRounds">AEPO's l: rounds in a row in which the prompt's tree grew (<see cref="RolloutBudget.ConsecutiveBranchRounds"/>).</param>
public readonly record struct BranchContext(double EntropyDelta, int ConsecutiveBranchRounds = 0);

/// <summary>
/// A fork rule: whether one path forks after a tool call, and into how many children. Rules are pure; the randomness
/// comes from the <see cref="Random"/> passed in (seeded for tests; one instance per thread — <see cref="Random"/> is
/// not thread-safe). The budget (<see cref="RolloutBudget"/>) decides how many requested children are granted.
/// </summary>
public interface IBranchPolicy
{
    /// <summary>The registry name (<see cref="BranchPolicies.Create"/>).</summary>
    string Name { get; }

    /// <summary>P(one attempt branches) in closed form, for metrics and tests.</summary>
    double BranchProbability(BranchContext context);

    /// <summary>One fork attempt.</summary>
    bool ShouldBranch(BranchContext context, Random random);

    /// <summary>Children to request for one fork point: Z attempts, each <see cref="ShouldBranch"/> (reference: <c>beam_size − 1</c> attempts).</summary>
    int ChildrenToRequest(BranchContext context, Random random);
}

/// <summary>Shared part of the rules: Z independent attempts.</summary>
public abstract class BranchPolicyBase(int childrenPerFork) : IBranchPolicy
{
    public int ChildrenPerFork { get; } = childrenPerFork >= 1 ? childrenPerFork : throw new ArgumentOutOfRangeException(nameof(childrenPerFork));

    public abstract string Name { get; }

    public abstract double BranchProbability(BranchContext context);

    public abstract bool ShouldBranch(BranchContext context, Random random);

    public virtual int ChildrenToRequest(BranchContext context, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var children = 0;
        for (var attempt = 0; attempt < ChildrenPerFork; attempt++)
        {
            if (ShouldBranch(context, random))
            {
                children++;
            }
        }

        return children;
    }
}

/// <summary>
/// <c>arpo</c>, the reference code's rule (docs/ALGORITHMS.md §1.3 step 7): u ~ U[0,1), p = clip(u − β·ΔH, 0, 1), branch iff
/// p ≤ α; so P(branch) = clip(α + β·ΔH, 0, 1).
/// </summary>
public sealed class ArpoBranchPolicy(double alpha = 0.5, double beta = 0.2, int childrenPerFork = 1) : BranchPolicyBase(childrenPerFork)
{
    public const string RegistryName = "arpo";

    public double Alpha { get; } = alpha;

    public double Beta { get; } = beta;

    public override string Name => RegistryName;

    public override double BranchProbability(BranchContext context) => Math.Clamp(Alpha + (Beta * context.EntropyDelta), 0.0, 1.0);

    public override bool ShouldBranch(BranchContext context, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u = random.NextDouble();
        var p = Math.Clamp(u - (Beta * context.EntropyDelta), 0.0, 1.0);
        return p <= Alpha;
    }
}

/// <summary><c>arpo-threshold</c>, the paper's deterministic rule (§1.2): P = α + β·ΔH, branch into Z children iff P &gt; τ.</summary>
public sealed class ArpoThresholdBranchPolicy(double alpha = 0.5, double beta = 0.2, double tau = 0.5, int childrenPerFork = 1)
    : BranchPolicyBase(childrenPerFork)
{
    public const string RegistryName = "arpo-threshold";

    public double Alpha { get; } = alpha;

    public double Beta { get; } = beta;

    public double Tau { get; } = tau;

    public override string Name => RegistryName;

    public override double BranchProbability(BranchContext context) => Alpha + (Beta * context.EntropyDelta) > Tau ? 1.0 : 0.0;

    public override bool ShouldBranch(BranchContext context, Random random) => BranchProbability(context) == 1.0;
}

/// <summary>
/// <c>aepo</c>, the AEPO code's rule (§2.1 b): u ~ U[0,1), p = clip((u + β·ΔH)·max(0, 1 − 0.05·l), 0, 1), branch iff
/// p ≥ τ; so P(branch) = clip(1 − τ/(1 − 0.05·l) + β·ΔH, 0, 1), which is ARPO's rule with α = 1 − τ when l = 0.
/// </summary>
public sealed class AepoBranchPolicy(double beta = 0.2, double tau = 0.5, double consecutivePenalty = 0.05, int childrenPerFork = 1)
    : BranchPolicyBase(childrenPerFork)
{
    public const string RegistryName = "aepo";

    public double Beta { get; } = beta;

    public double Tau { get; } = tau;

    public double ConsecutivePenalty { get; } = consecutivePenalty;

    public override string Name => RegistryName;

    /// <summary>The penalty factor max(0, 1 − penalty·l).</summary>
    public double PenaltyFactor(int consecutiveBranchRounds) => Math.Max(0.0, 1.0 - (ConsecutivePenalty * consecutiveBranchRounds));

    public override double BranchProbability(BranchContext context)
    {
        var factor = PenaltyFactor(context.ConsecutiveBranchRounds);
        if (factor == 0.0)
        {
            return Tau <= 0.0 ? 1.0 : 0.0;
        }

        return Math.Clamp(1.0 - (Tau / factor) + (Beta * context.EntropyDelta), 0.0, 1.0);
    }

    public override bool ShouldBranch(BranchContext context, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u = random.NextDouble();
        var p = Math.Clamp((u + (Beta * context.EntropyDelta)) * PenaltyFactor(context.ConsecutiveBranchRounds), 0.0, 1.0);
        return p >= Tau;
    }
}

/// <summary><c>none</c>: never forks (plain GRPO when N = M; with N &lt; M the budget is filled by top-ups).</summary>
public sealed class NoBranchPolicy : IBranchPolicy
{
    public const string RegistryName = "none";

    public string Name => RegistryName;

    public double BranchProbability(BranchContext context) => 0.0;

    public bool ShouldBranch(BranchContext context, Random random) => false;

    public int ChildrenToRequest(BranchContext context, Random random) => 0;
}

/// <summary>Fork rules chosen by name.</summary>
public static class BranchPolicies
{
    public static IReadOnlyList<string> Names { get; } =
        [ArpoBranchPolicy.RegistryName, ArpoThresholdBranchPolicy.RegistryName, AepoBranchPolicy.RegistryName, NoBranchPolicy.RegistryName];

    /// <summary>Builds the rule named <see cref="BranchingOptions.BranchPolicy"/> with the options' α, β, τ, penalty and Z.</summary>
    public static IBranchPolicy Create(BranchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.BranchPolicy switch
        {
            ArpoBranchPolicy.RegistryName => new ArpoBranchPolicy(options.Alpha, options.Beta, options.ChildrenPerFork),
            ArpoThresholdBranchPolicy.RegistryName => new ArpoThresholdBranchPolicy(options.Alpha, options.Beta, options.Tau, options.ChildrenPerFork),
            AepoBranchPolicy.RegistryName => new AepoBranchPolicy(options.Beta, options.Tau, options.ConsecutiveBranchPenalty, options.ChildrenPerFork),
            NoBranchPolicy.RegistryName => new NoBranchPolicy(),
            _ => throw new ArgumentException($"Unknown branch policy '{options.BranchPolicy}'. Known: {string.Join(", ", Names)}.", nameof(options)),
        };
    }
}
