using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Hosting;
using AgentRl.Grains.Placement;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Storage;
using AgentRl.Grains.Tasks;
using AgentRl.Grains.Telemetry;
using AgentRl.Grains.Tools;
using AgentRl.Pipeline.Swarm;
using AgentRl.Pipeline.WarmStart;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;
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
    /// <summary>Newest checkpoints a prune keeps, besides the pinned ones.</summary>
    public const int CheckpointsKept = 3;
    private PolicyTrainer? _trainer;
    private ITokenizer? _tokenizer;
    private string? _tokenizerId;
    private string? _sourceDirectory;
    private ICheckpointStore? _store;
    private string? _runId;
    private string _checkpointRoot = "";
    private CheckpointStoreSpec? _storeSpec;
    private BlobRunStore? _runStore;
    private WarmStartTracker _warmStart = new();

    public async Task<long> InitializeAsync(TrainerSpec spec, CancellationToken cancellationToken = default)
    {
        _trainer?.Dispose();
        var policyId = this.GetPrimaryKeyString();
        var target = policies.TrainerTarget(policyId);
        var (model, tokenizer) = policies.CreateModel(policyId);
        _tokenizer = tokenizer;
        _tokenizerId = null;
        _sourceDirectory = policies.Options.For(policyId).ModelDir;
        var resolved = ResolvedAlgorithm.Resolve(
            spec.Algorithm,
            spec.Objective,
            spec.Trainer,
            new TrainerOptions { LearningRate = spec.LearningRate, TotalSteps = Math.Max(1, spec.TotalSteps), TokenBudget = spec.TokenBudget, Seed = spec.Seed });
        _trainer = PolicyTrainer.Create(model, target, resolved.Trainer);
        _checkpointRoot = spec.CheckpointDirectory;
        _runId = spec.RunId;
        _storeSpec = spec.CheckpointStore ?? new CheckpointStoreSpec(CheckpointStoreSpec.Local, null, "", "", spec.RunId);
        _store = RunCheckpointStores.Create(_storeSpec, spec.CheckpointDirectory, checkpointOptions.Value);
        _runStore = spec.RunStore is { } runStore ? BlobRunStore.Create(runStore, checkpointOptions.Value) : null;
        logger.LogInformation("Trainer {PolicyId}: {Algorithm}, lr {LearningRate}, run {RunId}, on {Target}{Master}, checkpoints to {Store}", policyId, spec.Algorithm, spec.LearningRate, spec.RunId, target, target.IsReducedPrecision ? " with f32 master weights" : "", _store.Description);

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
        var recipe = new WarmStartRecipe(tasks.Get(spec.Task, spec.TaskOptions), policies.Template(this.GetPrimaryKeyString()), tools.Catalog);
        _warmStart = new WarmStartTracker();
        var metrics = await recipe.RunAsync(trainer, spec, work => TorchRuntime.RunAsync(work, cancellationToken), _warmStart, cancellationToken);
        var location = await PublishAsync(cancellationToken);
        return new TrainResult(trainer.PolicyVersion, metrics, location);
    }

    public Task<WarmStartReport> GetWarmStartProgressAsync(int afterBatch, CancellationToken cancellationToken = default) =>
        Task.FromResult(_warmStart.Report(afterBatch));

    public async Task<RewardKlPenalty> RewardKlAsync(IReadOnlyList<Trajectory> trajectories, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        if (!trainer.Objective.UseKlInReward)
        {
            throw new InvalidOperationException($"Trainer {this.GetPrimaryKeyString()}: the run's objective does not use KL in the reward.");
        }

        var examples = trajectories.Select(t => TrainingExample.FromTrajectory(t, 0)).ToList();
        var result = await TorchRuntime.RunAsync(() => trainer.RewardKlPenalties(examples, updateController: false), cancellationToken);
        return new RewardKlPenalty(result.Penalties, result.CurrentKl, result.Coef);
    }

    public Task<double> UpdateRewardKlAsync(double currentKl, int sequences, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        if (!trainer.Objective.UseKlInReward)
        {
            throw new InvalidOperationException($"Trainer {this.GetPrimaryKeyString()}: the run's objective does not use KL in the reward.");
        }

        return Task.FromResult(trainer.UpdateRewardKl(currentKl, sequences));
    }

    public Task<string> GetTokenizerIdAsync(CancellationToken cancellationToken = default) => Task.FromResult(TokenizerId);

    public async Task<IReadOnlyList<ExternalGroup>> RenderExternalAsync(ExternalRenderSpec spec, IReadOnlyList<SharedGroup> groups, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        var template = policies.Template(this.GetPrimaryKeyString());
        var task = tasks.Get(spec.Task, spec.TaskOptions);
        var prepared = groups.Select(group =>
        {
            try
            {
                var item = TaskCatalog.FromJson(group.ItemJson);
                var context = task.GetToolContext(item);
                using var session = tools.Catalog.OpenSession(context.AllowedTools, new ToolSessionContext { KnowledgeBase = context.Documents });
                return ExternalGroups.Prepare(group, template, task.SystemPrompt, session.Tools, item.Prompt, TokenizerId, spec.ContextBudget);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                return new PreparedGroup($"{group.ProducerRunId}/{group.GroupId}", [], [], e.Message);
            }
        }).ToList();

        var examples = prepared.SelectMany(p => p.Trajectories).Select(t => TrainingExample.FromTrajectory(t, 0)).ToList();
        var logprobs = examples.Count == 0 ? [] : await TorchRuntime.RunAsync(() => trainer.TokenLogProbs(examples), cancellationToken);
        var result = new List<ExternalGroup>(prepared.Count);
        var offset = 0;
        foreach (var group in prepared)
        {
            result.Add(ExternalGroups.Complete(group, logprobs[offset..(offset + group.Trajectories.Count)], spec.Correction, spec.IsClip));
            offset += group.Trajectories.Count;
        }

        return result;
    }

    public async Task<TrainResult> UpdateAsync(TrainBatch batch, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        using var span = AgentRlTelemetry.StartTrainerUpdate(_runId, this.GetPrimaryKeyString(), trainer.PolicyVersion, batch.Trajectories.Count);
        var examples = TrajectoryExamples.Examples(batch.Trajectories, new TrajectoryAdvantages(batch.Advantages, batch.TokenAdvantages), batch.TokenWeights);
        var step = await TorchRuntime.RunAsync(() => trainer.TrainStep(examples), cancellationToken);
        span?.SetTag("new_policy_version", trainer.PolicyVersion);
        return new TrainResult(trainer.PolicyVersion, step.ToDictionary(), null);
    }

    public Task<string> PublishWeightsAsync(CancellationToken cancellationToken = default) => PublishAsync(cancellationToken);

    public async Task SaveStateAsync(string directory, int? storeStep = null, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        await Task.Run(() => trainer.Save(directory), cancellationToken);
        if (_runStore is { } store && storeStep is { } step)
        {
            await store.PushTrainerStateAsync(directory, step, cancellationToken);
        }
    }

    public async Task<TrainResult> LoadStateAsync(string directory, int? storeStep = null, CancellationToken cancellationToken = default)
    {
        var trainer = Trainer;
        if (_runStore is { } store && storeStep is { } step)
        {
            // One restored state at a time: an earlier resume's is dropped.
            var restoreRoot = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(directory))!, BlobRunStore.RestoreFolder);
            if (Directory.Exists(restoreRoot))
            {
                Directory.Delete(restoreRoot, recursive: true);
            }

            var restored = Path.Combine(restoreRoot, $"s{step:D6}");
            await store.PullTrainerStateAsync(step, restored, cancellationToken);
            logger.LogInformation("Trainer {PolicyId}: pulled the trainer state of step {Step} from {Store}", this.GetPrimaryKeyString(), step, store.Description);
            directory = restored;
        }

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
                HfCheckpoint.Save(staging, trainer.Model.Config, trainer.Weights);
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
        return location;
    }

    public async Task<IReadOnlyList<long>> PruneCheckpointsAsync(IReadOnlyList<long> pinned, CancellationToken cancellationToken = default)
    {
        var store = _store ?? throw new TrainerNotInitializedException($"Trainer {this.GetPrimaryKeyString()} is not initialized; call InitializeAsync first.");
        var deleted = await store.DeleteOldVersionsAsync(CheckpointsKept, pinned, cancellationToken);
        if (deleted.Count > 0)
        {
            logger.LogDebug("Trainer {PolicyId}: deleted checkpoints {Versions} (kept the newest {Kept} and {Pinned})", this.GetPrimaryKeyString(), deleted, CheckpointsKept, pinned);
        }

        return deleted;
    }

    private string TokenizerId => _tokenizerId ??= TokenizerFingerprint.Describe(_tokenizer ?? throw new TrainerNotInitializedException($"Trainer {this.GetPrimaryKeyString()} is not initialized; call InitializeAsync first."));

    private PolicyTrainer Trainer => _trainer ?? throw new TrainerNotInitializedException($"Trainer {this.GetPrimaryKeyString()} is not initialized (a new activation, e.g. after its silo was lost); call InitializeAsync first.");

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _trainer?.Dispose();
        _trainer = null;
        return Task.CompletedTask;
    }
}
