using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks.Demonstrations;

/// <summary>Options of <see cref="DemonstrationGenerator"/>.</summary>
public sealed record DemonstrationOptions
{
    /// <summary>Share of items (0..1) that get a flawed demonstration; exactly round(share × count) do. Default 0.</summary>
    public double FlawedFraction { get; init; }

    /// <summary>Seed choosing which items are flawed and how. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The flaws to draw from. Default: every flaw.</summary>
    public IReadOnlyList<DemonstrationFlaw> Flaws { get; init; } =
        [DemonstrationFlaw.WrongToolArgument, DemonstrationFlaw.WrongFinalAnswer, DemonstrationFlaw.MissingAnswerTag];
}

/// <summary>Builds warm-start demonstrations for many items, a seeded share of them flawed.</summary>
public static class DemonstrationGenerator
{
    /// <summary>
    /// One demonstration per item, in order. <paramref name="executorFor"/> gives the tool executor for an item's
    /// tool context (in production the tool catalog with the item's documents loaded).
    /// </summary>
    public static async Task<IReadOnlyList<Demonstration>> GenerateAsync(
        IAgentTask task,
        IReadOnlyList<TaskItem> items,
        Func<TaskToolContext, IToolExecutor> executorFor,
        DemonstrationOptions? options = null,
        Action<int>? onBuilt = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(executorFor);
        options ??= new DemonstrationOptions();
        var flaws = PlanFlaws(items.Count, options);
        var result = new List<Demonstration>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var tools = executorFor(task.GetToolContext(items[i]));
            result.Add(await task.BuildDemonstrationAsync(items[i], tools, flaws[i], cancellationToken).ConfigureAwait(false));
            onBuilt?.Invoke(i + 1);
        }

        return result;
    }

    /// <summary>Which flaw each of <paramref name="count"/> items gets: a seeded choice of round(fraction × count) items.</summary>
    public static IReadOnlyList<DemonstrationFlaw> PlanFlaws(int count, DemonstrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.FlawedFraction is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"FlawedFraction must be in [0, 1], got {options.FlawedFraction}.");
        }

        var plan = new DemonstrationFlaw[count];
        var flawed = (int)Math.Round(options.FlawedFraction * count, MidpointRounding.AwayFromZero);
        if (flawed == 0)
        {
            return plan;
        }

        var kinds = options.Flaws.Where(f => f != DemonstrationFlaw.None).ToArray();
        if (kinds.Length == 0)
        {
            throw new ArgumentException("Flaws must name at least one flaw when FlawedFraction > 0.", nameof(options));
        }

        var rng = new Random(options.Seed);
        var order = Enumerable.Range(0, count).ToArray();
        rng.Shuffle(order);
        for (var i = 0; i < flawed; i++)
        {
            plan[order[i]] = kinds[rng.Next(kinds.Length)];
        }

        return plan;
    }
}
