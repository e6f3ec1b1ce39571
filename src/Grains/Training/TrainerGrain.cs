using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Tools;
using AgentRl.Policy.Branching;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tools.Catalog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentRl.Grains.Training;

/// <summary>
/// A policy's trainable copy and optimizer. Pinned to GPU silos (or a trainer-role CPU silo when CPU training is allowed).
/// After every update it hands the weights to this silo's engine (in-process shortcut), writes a Hugging Face checkpoint
/// to the run's store and publishes (version, location) to the policy registry, from which other silos load.
/// </summary>
[TrainerPlacement]
public sealed class TrainerGrain(PolicyHost policies, TaskCatalog tasks, ToolRuntime tools, IOptions<CheckpointStoreOptions> checkpointOptions, ILogger<TrainerGrain> logger) : Grain, ITrainerGrain
{
    private const int CheckpointsKept = 3;
    private PolicyTrainer? _trainer;
    private ITokenizer? _tokenizer;
    private string? _sourceDirectory;
    private ICheckpointStore? _store;
    private string _checkpointRoot = "";
    private string _attribution = TreeAttributions.Soft;
    private CheckpointStoreSpec? _storeSpec;

    public async Task<long> InitializeAsync(TrainerSpec spec, CancellationToken cancellationToken = default)
    {
        _trainer?.Dispose();
        var policyId = this.GetPrimaryKeyString();
        var (model, tokenizer) = policies.CreateModel(policyId);
        _tokenizer = tokenizer;
        _sourceDirectory = policies.Options.For(policyId).ModelDir;
        _trainer = new PolicyTrainer(model, new TrainerOptions
        {
            Algorithm = spec.Algorithm,
            LearningRate = spec.LearningRate,
            TotalSteps = Math.Max(1, spec.TotalSteps),
            TokenBudget = spec.TokenBudget,
            Seed = spec.Seed,
        }.Validate());
        _checkpointRoot = spec.CheckpointDirectory;
        _attribution = spec.Attribution;
        _storeSpec = spec.CheckpointStore ?? new CheckpointStoreSpec(CheckpointStoreSpec.Local, null, "", "", spec.RunId);
        _store = RunCheckpointStores.Create(_storeSpec, spec.CheckpointDirectory, checkpointOptions.Value);
        logger.LogInformation("Trainer {PolicyId}: {Algorithm}, lr {LearningRate}, run {RunId}, checkpoints to {Store}", policyId, spec.Algorithm, spec.LearningRate, spec.RunId, _store.Description);

        // An earlier run of this policy on the cluster left its versions in the registry and its weights in the engines:
        // the new run's initial weights take the next number and are published before anything generates with them.
        var registered = await GrainFactory.GetGrain<IPolicyRegistryGrain>(policyId).GetLatestAsync(cancellationToken);
        if (registered.Version > 0 && !spec.LoadsState)
        {
            _trainer.AdvanceVersion(registered.Version + 1);
            await PublishAsync(cancellationToken);
            logger.LogInformation("Trainer {PolicyId}: versions {Version} and below belong to an earlier run; this run starts at {Next}", policyId, registered.Version, _trainer.PolicyVersion);
        }

        return _trainer.PolicyVersion;
    }

    public async Task<TrainResult> SftAsync(SftSpec spec, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        var policyId = this.GetPrimaryKeyString();
        var task = tasks.Get(spec.Task, spec.TaskOptions);
        var template = policies.Template(policyId);
        var twoPhases = spec.FlawPhaseDemonstrations > 0 && spec.FlawedFraction > 0;
        var sessions = new List<ToolSession>();
        try
        {
            // Phase 1: the demonstrations (all gold when a flaw phase follows) with the echo examples.
            var first = await DemonstrationExamplesAsync(task, template, spec, spec.Demonstrations, twoPhases ? 0 : spec.FlawedFraction, spec.Seed, sessions, cancellationToken);
            var examples = first.Examples.ToList();
            var demonstrationCount = examples.Count;
            var echoCount = AddEchoExamples(examples, template, first.Demonstrations, spec.EchoExamples, spec.Seed + 1);
            var steps = await TorchRuntime.RunAsync(
                () => SftTrainer.Run(trainer, examples, new SftOptions { Epochs = spec.Epochs, LearningRate = spec.LearningRate, Seed = spec.Seed, BatchSize = 16, WarmupSteps = 20 }, cancellationToken: cancellationToken),
                cancellationToken);
            var last = steps[^1].ToDictionary();
            var metrics = new Dictionary<string, double>(last.Select(kv => KeyValuePair.Create("sft/" + kv.Key.Replace("sft/", "", StringComparison.Ordinal), kv.Value)))
            {
                ["sft/examples"] = demonstrationCount,
                ["sft/echo_examples"] = echoCount,
                ["sft/first_loss"] = steps[0].Loss,
                ["sft/steps"] = steps.Count,
            };

            // Phase 2: a short phase with the flawed share, which takes away part of the tool use but not the skills of phase 1.
            if (twoPhases)
            {
                var flawed = await DemonstrationExamplesAsync(task, template, spec, spec.FlawPhaseDemonstrations, spec.FlawedFraction, spec.Seed + 2, sessions, cancellationToken);
                var phase = flawed.Examples.ToList();
                var phaseEcho = AddEchoExamples(phase, template, flawed.Demonstrations, spec.EchoExamples > 0 ? flawed.Examples.Count : 0, spec.Seed + 3);
                var phaseSteps = await TorchRuntime.RunAsync(
                    () => SftTrainer.Run(trainer, phase, new SftOptions { Epochs = 1, LearningRate = spec.FlawPhaseLearningRate, Seed = spec.Seed + 2, BatchSize = 16, WarmupSteps = 10 }, cancellationToken: cancellationToken),
                    cancellationToken);
                metrics["sft/flaw_phase_examples"] = flawed.Examples.Count;
                metrics["sft/flaw_phase_echo_examples"] = phaseEcho;
                metrics["sft/flaw_phase_steps"] = phaseSteps.Count;
                metrics["sft/flaw_phase_loss"] = phaseSteps[^1].Loss;
            }

            var location = await PublishAsync(cancellationToken);
            return new TrainResult(trainer.PolicyVersion, metrics, location);
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    private async Task<(IReadOnlyList<SftExample> Examples, IReadOnlyList<Demonstration> Demonstrations)> DemonstrationExamplesAsync(
        IAgentTask task, IChatTemplate template, SftSpec spec, int count, double flawedFraction, int seed, List<ToolSession> sessions, CancellationToken cancellationToken)
    {
        var items = task.Generate(TaskSplit.Train, count, seed);
        var firstSession = sessions.Count;
        var demonstrations = await DemonstrationGenerator.GenerateAsync(
            task,
            items,
            context =>
            {
                var session = tools.Catalog.OpenSession(context.AllowedTools, new ToolSessionContext { KnowledgeBase = context.Documents });
                sessions.Add(session);
                return session;
            },
            spec.Flaws is { Count: > 0 } flaws
                ? new DemonstrationOptions { FlawedFraction = flawedFraction, Seed = seed, Flaws = [.. flaws.Select(DemonstrationFlaws.Parse)] }
                : new DemonstrationOptions { FlawedFraction = flawedFraction, Seed = seed },
            cancellationToken);

        // Each demonstration is rendered with the tools of the session that produced it (one per item, in order).
        var examples = demonstrations
            .Zip(sessions.Skip(firstSession), (d, session) => (Demonstration: d, session.Tools))
            .Where(p => p.Demonstration.ToolResultsAgree || p.Demonstration.Flaw != DemonstrationFlaw.None)
            .Select(p => DemonstrationTokens.Build(template, p.Demonstration.Messages, p.Tools))
            .ToList();
        return (examples, demonstrations);
    }

    private static int AddEchoExamples(List<SftExample> examples, IChatTemplate template, IReadOnlyList<Demonstration> demonstrations, int count, int seed)
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

    public async Task<TrainResult> TrainStepAsync(IReadOnlyList<Trajectory> trajectories, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        var batch = TrajectoryExamples.Build(trajectories, trainer.Objective, new ExampleBuildOptions { Attribution = _attribution });
        if (batch.Examples.Count == 0)
        {
            return new TrainResult(trainer.PolicyVersion, new Dictionary<string, double> { ["train/skipped"] = 1, ["train/examples"] = 0 }, null);
        }

        var step = await TorchRuntime.RunAsync(() => trainer.TrainStep(batch.Examples), cancellationToken);
        var metrics = new Dictionary<string, double>(step.ToDictionary())
        {
            ["train/examples"] = batch.Examples.Count,
            ["train/advantage_abs_mean"] = batch.Advantages.Length == 0 ? 0 : batch.Advantages.Average(Math.Abs),
        };
        var location = await PublishAsync(cancellationToken);
        return new TrainResult(trainer.PolicyVersion, metrics, location);
    }

    public Task SaveStateAsync(string directory, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        return Task.Run(() => trainer.Save(directory), cancellationToken);
    }

    public async Task<TrainResult> LoadStateAsync(string directory, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        await Task.Run(() => trainer.Load(directory), cancellationToken);

        // A lost run may have published versions after this checkpoint (its trainer finished a step the run never recorded).
        // The restored weights then take a new number above them, so no version number ever names two different weights.
        var registered = await GrainFactory.GetGrain<IPolicyRegistryGrain>(this.GetPrimaryKeyString()).GetLatestAsync(cancellationToken);
        var stored = await _store!.GetLatestVersionAsync(cancellationToken) ?? 0;
        var published = Math.Max(registered.Version, stored);
        if (published > trainer.PolicyVersion || (published == trainer.PolicyVersion && registered.Location is { } seen && seen != _store.GetLocation(published)))
        {
            logger.LogWarning("Trainer {PolicyId}: restored version {Version} is behind the published {Published}; republishing it as {Next}", this.GetPrimaryKeyString(), trainer.PolicyVersion, published, published + 1);
            trainer.AdvanceVersion(published + 1);
        }

        var location = await PublishAsync(cancellationToken);
        logger.LogInformation("Trainer {PolicyId}: resumed version {Version} ({Steps} RL optimizer steps) from {Directory}", this.GetPrimaryKeyString(), trainer.PolicyVersion, trainer.RlOptimizerSteps, directory);
        return new TrainResult(trainer.PolicyVersion, new Dictionary<string, double>(), location);
    }

    /// <summary>PublishWeights: in-process shortcut to this silo's engine, checkpoint to the store, version to the registry.</summary>
    private async Task<string> PublishAsync(CancellationToken cancellationToken)
    {
        var trainer = Trainer;
        var policyId = this.GetPrimaryKeyString();
        var version = trainer.PolicyVersion;
        var weights = trainer.ExportWeights();
        try
        {
            await policies.PublishLocalAsync(policyId, version, weights, cancellationToken);
        }
        finally
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }

        // A resumed trainer republishes its restored version, which the store may already hold (versions are immutable).
        if (!(await _store!.ListVersionsAsync(cancellationToken)).Contains(version))
        {
            var staging = Path.Combine(_checkpointRoot, ".staging-" + Guid.NewGuid().ToString("N"));
            try
            {
                // A checkpoint is a complete model directory: weights, config and the tokenizer files.
                HfCheckpoint.Save(staging, trainer.Model.Config, trainer.Model);
                if (_tokenizer is ByteLevelTokenizer byteLevel)
                {
                    byteLevel.Save(staging);
                }
                else if (_sourceDirectory is not null)
                {
                    foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
                    {
                        var source = Path.Combine(_sourceDirectory, name);
                        if (File.Exists(source))
                        {
                            File.Copy(source, Path.Combine(staging, name), overwrite: true);
                        }
                    }
                }
                await _store.PublishAsync(version, staging, cancellationToken);
            }
            finally
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }

        var location = _store.GetLocation(version);
        await GrainFactory.GetGrain<IPolicyRegistryGrain>(policyId).PublishAsync(new PolicyVersionInfo(version, location, _storeSpec), cancellationToken);
        await _store.DeleteOldVersionsAsync(CheckpointsKept, cancellationToken);
        return location;
    }

    private PolicyTrainer Trainer => _trainer ?? throw new TrainerNotInitializedException($"Trainer {this.GetPrimaryKeyString()} is not initialized (a new activation, e.g. after its silo was lost); call InitializeAsync first.");

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _trainer?.Dispose();
        _trainer = null;
        return Task.CompletedTask;
    }
}
