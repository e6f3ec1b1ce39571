using AgentRl.Abstractions.Training;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Training;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tools.Catalog;

namespace AgentRl.Pipeline.WarmStart;

/// <summary>
/// The warm start as a recipe: SFT on a task's demonstrations, built with the real tools. With
/// <see cref="SftSpec.FlawPhaseDemonstrations"/> &gt; 0 and a flawed share, two phases: first the gold demonstrations
/// with the echo examples (<see cref="EchoExamples"/>) at <see cref="SftSpec.LearningRate"/>, then a short phase of
/// demonstrations of which <see cref="SftSpec.FlawedFraction"/> are flawed (with as many echo examples) at
/// <see cref="SftSpec.FlawPhaseLearningRate"/>. Otherwise one phase with the flawed share mixed in. Batches of
/// <see cref="SftSpec.BatchSize"/>, linear warm-up (<see cref="SftSpec.WarmupSteps"/>, <see cref="SftSpec.FlawPhaseWarmupSteps"/>)
/// then cosine. The caller runs torch work through <c>runTorch</c> (on a thread bound to its thread count). With
/// <see cref="SftSpec.TimeBudgetSeconds"/> the first phase stops when the budget (demonstrations included) is spent.
/// </summary>
public sealed class WarmStartRecipe(IAgentTask task, IChatTemplate template, ToolCatalog catalog)
{
    /// <summary>Runs the warm start on <paramref name="trainer"/> and returns its <c>sft/…</c> metrics.</summary>
    public async Task<Dictionary<string, double>> RunAsync(
        PolicyTrainer trainer,
        SftSpec spec,
        Func<Func<IReadOnlyList<SftStepMetrics>>, Task<IReadOnlyList<SftStepMetrics>>> runTorch,
        WarmStartTracker? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(spec);
        var twoPhases = spec.FlawPhaseDemonstrations > 0 && spec.FlawedFraction > 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var sessions = new List<ToolSession>();
        progress ??= new WarmStartTracker();
        try
        {
            // Phase 1: the demonstrations (all gold when a flaw phase follows) with the echo examples.
            progress.BeginDemonstrations(1, spec.Demonstrations);
            var first = await DemonstrationExamplesAsync(spec, spec.Demonstrations, twoPhases ? 0 : spec.FlawedFraction, spec.RedrawResultShare, spec.Seed, sessions, progress, cancellationToken);
            var examples = first.Examples.ToList();
            var demonstrationCount = examples.Count - first.Redrawn;
            var echoCount = AddEchoExamples(examples, first.Demonstrations, spec.EchoExamples, spec.Seed + 1);
            var options = new SftOptions
            {
                Epochs = spec.Epochs,
                LearningRate = spec.LearningRate,
                Seed = spec.Seed,
                BatchSize = spec.BatchSize,
                WarmupSteps = spec.WarmupSteps,
                PlannedSteps = spec.PlannedSteps,
                TimeBudget = spec.TimeBudgetSeconds is { } budget ? TimeSpan.FromSeconds(Math.Max(0, budget - clock.Elapsed.TotalSeconds)) : null,
            };
            var steps = await runTorch(() => RunPass(trainer, examples, options, 1, progress, cancellationToken));
            var metrics = new Dictionary<string, double>(steps.Count == 0 ? [] : steps[^1].ToDictionary().Select(kv => KeyValuePair.Create("sft/" + kv.Key.Replace("sft/", "", StringComparison.Ordinal), kv.Value)))
            {
                ["sft/examples"] = demonstrationCount,
                ["sft/echo_examples"] = echoCount,
                ["sft/redrawn_results"] = first.Redrawn,
                ["sft/steps"] = steps.Count,
            };
            if (steps.Count > 0)
            {
                metrics["sft/first_loss"] = steps[0].Loss;
            }

            // Phase 2: a short phase with the flawed share, which takes away part of the tool use but not the skills of phase 1.
            if (twoPhases)
            {
                progress.BeginDemonstrations(2, spec.FlawPhaseDemonstrations);
                var flawed = await DemonstrationExamplesAsync(spec, spec.FlawPhaseDemonstrations, spec.FlawedFraction, 0, spec.Seed + 2, sessions, progress, cancellationToken);
                var phase = flawed.Examples.ToList();
                var phaseEcho = AddEchoExamples(phase, flawed.Demonstrations, spec.EchoExamples > 0 ? flawed.Examples.Count : 0, spec.Seed + 3);
                var phaseOptions = new SftOptions { Epochs = 1, LearningRate = spec.FlawPhaseLearningRate, Seed = spec.Seed + 2, BatchSize = spec.BatchSize, WarmupSteps = spec.FlawPhaseWarmupSteps };
                var phaseSteps = await runTorch(() => RunPass(trainer, phase, phaseOptions, 2, progress, cancellationToken));
                metrics["sft/flaw_phase_examples"] = flawed.Examples.Count;
                metrics["sft/flaw_phase_echo_examples"] = phaseEcho;
                metrics["sft/flaw_phase_steps"] = phaseSteps.Count;
                metrics["sft/flaw_phase_loss"] = phaseSteps[^1].Loss;
            }

            // The whole warm start's wall time, demonstrations included: what a time-budgeted warm start is measured against.
            metrics["sft/wall_seconds"] = clock.Elapsed.TotalSeconds;
            progress.Finish();
            return metrics;
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    /// <summary>
    /// The demonstrations of <paramref name="count"/> items, rendered; with <paramref name="redrawShare"/>, that share of
    /// the gold ones (a seeded draw) is followed by its copy with the last tool result redrawn
    /// (<see cref="EchoExamples.WithRedrawnToolResult"/>), counted in <c>Redrawn</c>.
    /// </summary>
    private async Task<(IReadOnlyList<SftExample> Examples, IReadOnlyList<Demonstration> Demonstrations, int Redrawn)> DemonstrationExamplesAsync(
        SftSpec spec, int count, double flawedFraction, double redrawShare, int seed, List<ToolSession> sessions, WarmStartTracker progress, CancellationToken cancellationToken)
    {
        var items = task.Generate(TaskSplit.Train, count, seed);
        var firstSession = sessions.Count;
        var demonstrations = await DemonstrationGenerator.GenerateAsync(
            task,
            items,
            context =>
            {
                var session = catalog.OpenSession(context.AllowedTools, new ToolSessionContext { KnowledgeBase = context.Documents });
                sessions.Add(session);
                return session;
            },
            spec.Flaws is { Count: > 0 } flaws
                ? new DemonstrationOptions { FlawedFraction = flawedFraction, Seed = seed, Flaws = [.. flaws.Select(DemonstrationFlaws.Parse)] }
                : new DemonstrationOptions { FlawedFraction = flawedFraction, Seed = seed },
            progress.DemonstrationsBuilt,
            cancellationToken);

        // Each demonstration is rendered with the tools of the session that produced it (one per item, in order).
        var redraw = new Random(seed + 7);
        var examples = new List<SftExample>();
        var redrawn = 0;
        foreach (var (demonstration, tools) in demonstrations.Zip(sessions.Skip(firstSession), (d, session) => (d, session.Tools)))
        {
            var gold = demonstration.Flaw == DemonstrationFlaw.None;
            if (!demonstration.ToolResultsAgree && gold)
            {
                continue;
            }

            examples.Add(DemonstrationTokens.Build(template, demonstration.Messages, tools));
            if (gold && redrawShare > 0 && redraw.NextDouble() < redrawShare
                && EchoExamples.WithRedrawnToolResult(demonstration.Messages, redraw) is { } copy)
            {
                examples.Add(DemonstrationTokens.Build(template, copy, tools));
                redrawn++;
            }
        }

        return (examples, demonstrations, redrawn);
    }

    /// <summary>One SFT pass, each batch reported to <paramref name="progress"/>.</summary>
    private static IReadOnlyList<SftStepMetrics> RunPass(PolicyTrainer trainer, IReadOnlyList<SftExample> examples, SftOptions options, int pass, WarmStartTracker progress, CancellationToken cancellationToken)
    {
        var perEpoch = (examples.Count + options.BatchSize - 1) / options.BatchSize;
        progress.BeginSft(pass, Math.Min(options.PlannedSteps ?? int.MaxValue, perEpoch * options.Epochs), perEpoch);
        return SftTrainer.Run(trainer, examples, options, step => progress.BatchDone(step.Loss, step.LearningRate), cancellationToken);
    }

    private int AddEchoExamples(List<SftExample> examples, IReadOnlyList<Demonstration> demonstrations, int count, int seed)
    {
        if (count <= 0)
        {
            return 0;
        }

        var alphabet = EchoExamples.Alphabet(demonstrations.Select(d => d.Messages));
        if (alphabet.Length == 0)
        {
            return 0;
        }

        // Strings as long as the ones the task copies: its short tool results need short echoes as much as its arguments.
        var (min, max) = EchoExamples.CopyLengths(demonstrations.Select(d => d.Messages)) ?? (3, 12);
        var echo = EchoExamples.Build(template, alphabet, count, seed, min, max);
        examples.AddRange(echo);
        return echo.Count;
    }
}
