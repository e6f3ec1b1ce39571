using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Configuration;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Policy.Algorithms;

/// <summary>
/// What a run trains with, resolved once from its configuration: the algorithm's registry entry, its objective with the
/// run's <c>objective.*</c> overrides, the trainer options with the run's <c>trainer.*</c> overrides, and the rollout-tree
/// settings (null when the algorithm does not branch). The run grain and the trainer grain resolve the same configuration
/// the same way, and <c>--print-config</c> shows the result.
/// </summary>
public sealed record ResolvedAlgorithm(AlgorithmEntry Algorithm, ObjectiveOptions Objective, TrainerOptions Trainer, BranchingSettings? Branching)
{
    /// <summary>Advantage attribution on rollout trees: the branching setting, <c>soft</c> without trees.</summary>
    public string Attribution => Branching?.Attribution ?? "soft";

    /// <summary>
    /// What a run configuration trains with: its algorithm, objective and trainer overrides and branching settings, with
    /// the run's learning rate, token budget, seed and step count as the trainer's run-level fields. The client
    /// (<c>--print-config</c>, the checks before submitting) and the run grain resolve a configuration through this.
    /// </summary>
    public static ResolvedAlgorithm ForRun(AgentRl.Abstractions.Training.RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var resolved = Resolve(
            config.Algorithm,
            config.Objective,
            config.Trainer,
            new TrainerOptions { LearningRate = config.LearningRate, TotalSteps = Math.Max(1, config.Steps), TokenBudget = config.TokenBudget, Seed = config.Seed },
            config.Branching,
            config.GroupSize);
        if (config.StreamsRollouts && resolved.Objective.FilterGroups)
        {
            throw new ArgumentException("mode async and overSampling > 1 do not combine with objective.filterGroups (DAPO's dynamic sampling) yet: a dropped group would leave its slot of the stream unfilled.");
        }

        if (resolved.Objective.FilterGroups && resolved.Objective.MaxNumGenBatches < 1)
        {
            // Each step owns the prompts of its generation batches in the training stream (and a swarm's fill-up reserve
            // after them); an unlimited count would take the fill-up's and the next steps' prompts, training items twice.
            throw new ArgumentException($"objective.maxNumGenBatches = {resolved.Objective.MaxNumGenBatches} (unlimited) does not combine with objective.filterGroups in a run: each step reserves its generation batches' prompts in the training stream. Set a limit (the dapo preset uses 10).");
        }

        return resolved;
    }

    /// <summary>
    /// Resolves and validates. Throws an <see cref="ArgumentException"/> naming an unknown algorithm, an unknown key (with the
    /// valid ones), a value that does not parse (field, value, expected type) or a value out of range (field, value, range).
    /// <paramref name="runLevel"/> carries the run's own learning rate, token budget, seed and RL step count (as TotalSteps).
    /// </summary>
    public static ResolvedAlgorithm Resolve(
        string algorithm,
        IReadOnlyDictionary<string, string>? objective,
        IReadOnlyDictionary<string, string>? trainer,
        TrainerOptions runLevel,
        BranchingSettings? branching = null,
        int groupSize = 1)
    {
        var entry = AlgorithmRegistry.Get(algorithm);
        var resolvedObjective = OptionsBinder.Bind(entry.Objective, objective, "objective").Validate();
        var bound = OptionsBinder.Bind(runLevel, trainer, "trainer", TrainerOptions.RunLevelFields);
        var options = bound with
        {
            Algorithm = entry.Name,
            Objective = resolvedObjective,

            // The run's TotalSteps counts RL steps; the schedule counts optimizer steps (epochs × mini-batches per step).
            TotalSteps = Math.Max(1, runLevel.TotalSteps * bound.PpoEpochs * bound.MiniBatches),
        };
        options.Validate();
        var tree = entry.BranchingFor(branching ?? new BranchingSettings());
        if (tree is not null)
        {
            var problems = tree.Validate(groupSize).ToList();
            if (problems.Count > 0)
            {
                throw new ArgumentException("invalid branching settings: " + string.Join("; ", problems));
            }
        }

        return new ResolvedAlgorithm(entry, resolvedObjective, options, tree);
    }

    /// <summary>The resolved objective fields by name, as <c>--print-config</c> shows them under <c>objective</c>.</summary>
    public SortedDictionary<string, string> DescribeObjective() => OptionsBinder.Describe(Objective);

    /// <summary>The resolved trainer fields by name (those a run sets under <c>trainer</c>).</summary>
    public SortedDictionary<string, string> DescribeTrainer() => OptionsBinder.Describe(Trainer, TrainerOptions.RunLevelFields);
}
