using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// A training run's configuration: every field has a documented default, so <c>agentrl train</c> with no arguments
/// trains the tiny model on <c>arithmetic</c> (warm start, then GRPO). Read from JSON (camelCase) and <c>--set key=value</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.run-config.v1")]
public sealed record RunConfig
{
    /// <summary>Run id; default <c>{task}-{algorithm}-{utc time}</c>.</summary>
    [Id(0)] public string RunId { get; init; } = "";

    /// <summary>Bundled task: <c>arithmetic</c> (default), <c>kb-multihop</c>, <c>python-math</c>.</summary>
    [Id(1)] public string Task { get; init; } = "arithmetic";

    /// <summary>Task options (see <c>agentrl tasks list</c>), e.g. <c>{"min-operations": "2"}</c>.</summary>
    [Id(2)] public Dictionary<string, string> TaskOptions { get; init; } = [];

    /// <summary>Policy id the silos serve (<c>AgentRl:Policies:{id}</c>); default <c>default</c> = tiny preset.</summary>
    [Id(3)] public string PolicyId { get; init; } = "default";

    /// <summary>
    /// <c>grpo</c> (default), <c>drgrpo</c>, <c>rloo</c>, <c>dapo</c>, <c>gspo</c>, <c>reinforce++</c>, and the branching
    /// algorithms <c>arpo</c> (GRPO loss, <c>arpo</c> fork rule, soft attribution) and <c>aepo</c> (<c>aepo</c> fork rule,
    /// <c>aepo-premonitor</c> allocator, entropy-balanced clipping and entropy-aware advantages), which use <see cref="Branching"/>.
    /// </summary>
    [Id(4)] public string Algorithm { get; init; } = "grpo";

    /// <summary>RL steps. Default 25.</summary>
    [Id(5)] public int Steps { get; init; } = 25;

    /// <summary>Prompts per step. Default 8.</summary>
    [Id(6)] public int PromptsPerStep { get; init; } = 8;

    /// <summary>Rollouts per prompt (the GRPO group). Default 8.</summary>
    [Id(7)] public int GroupSize { get; init; } = 8;

    /// <summary>Sampling temperature of rollouts. Default 1.0.</summary>
    [Id(8)] public double Temperature { get; init; } = 1.0;

    /// <summary>Turns, tokens per turn, context budget, tool calls, tool timeout, entropy window.</summary>
    [Id(9)] public RolloutLimits Limits { get; init; } = new(MaxTurns: 3, MaxNewTokensPerTurn: 128, ContextBudget: 384, MaxToolCalls: 3, ToolTimeoutSeconds: 10, EntropyWindow: 20);

    /// <summary>RL learning rate (AdamW). Default 2e-4 (tiny models; use ~1e-6 for 0.5B+).</summary>
    [Id(10)] public double LearningRate { get; init; } = 2e-4;

    /// <summary>
    /// Warm-start demonstrations (0 = no warm start). Default 12800. All gold when <see cref="SftFlawPhaseDemonstrations"/>
    /// &gt; 0 (the flawed ones come in that phase); otherwise <see cref="SftFlawedFraction"/> of them are flawed.
    /// </summary>
    [Id(11)] public int SftDemonstrations { get; init; } = 12800;

    /// <summary>Warm-start epochs. Default 1.</summary>
    [Id(12)] public int SftEpochs { get; init; } = 1;

    /// <summary>Warm-start learning rate. Default 3e-3.</summary>
    [Id(13)] public double SftLearningRate { get; init; } = 3e-3;

    /// <summary>
    /// Share of deliberately flawed demonstrations, so the warm-started model has room to improve: of the flaw phase's
    /// demonstrations when <see cref="SftFlawPhaseDemonstrations"/> &gt; 0, else of <see cref="SftDemonstrations"/>. Default 0.6.
    /// </summary>
    [Id(14)] public double SftFlawedFraction { get; init; } = 0.6;

    /// <summary>Evaluate every N steps (and before the first and after the last). Default 10.</summary>
    [Id(15)] public int EvalEvery { get; init; } = 10;

    /// <summary>Held-out items per evaluation. Default 64.</summary>
    [Id(16)] public int EvalSize { get; init; } = 64;

    /// <summary>k of the sampled pass@k evaluation (0 = greedy pass@1 only). Default 4.</summary>
    [Id(17)] public int PassK { get; init; } = 4;

    /// <summary>Seed of data order, sampling and initialisation. Default 0.</summary>
    [Id(18)] public int Seed { get; init; }

    /// <summary>Allow the trainer on a CPU silo when no <c>cuda</c> silo is active. Default true (the embedded silo has no GPU).</summary>
    [Id(19)] public bool AllowCpuTraining { get; init; } = true;

    /// <summary>Folder of run artifacts: <c>{RunDir}/{RunId}/</c>. Default <c>runs</c>.</summary>
    [Id(20)] public string RunDir { get; init; } = "runs";

    /// <summary>Micro-batch token budget of the trainer. Default 4096.</summary>
    [Id(21)] public int TokenBudget { get; init; } = 4096;

    /// <summary>
    /// Run only the warm start (<c>agentrl sft</c>): initial evaluation, SFT, evaluation of the warm-started model, a
    /// checkpoint; no RL steps whatever <see cref="Steps"/> says. The run can later be continued with RL by resuming it. Default false.
    /// </summary>
    [Id(22)] public bool SftOnly { get; init; }

    /// <summary>
    /// Continue the run <see cref="RunId"/> from <c>{RunDir}/{RunId}/run_state.json</c> and its trainer state
    /// (<c>agentrl train --resume</c>): no warm start, the next step after the last completed one. Default false.
    /// </summary>
    [Id(23)] public bool Resume { get; init; }

    /// <summary>
    /// Start from the warm start of another run instead of doing one: the run directory (absolute, or relative to the
    /// silo's working directory) of a run whose last checkpoint is its warm start, i.e. an <c>agentrl sft</c> run. Its
    /// trainer state (weights, reference, optimizer moments, counters) is loaded, its initial and warm-start evaluations are
    /// carried over (with its step-0 metrics rows), and RL starts at step 1. The warm-start fields of this configuration are
    /// then ignored. <c>agentrl compare</c> uses it to warm-start once per seed for every algorithm. Default none.
    /// </summary>
    [Id(33)] public string? InitFrom { get; init; }

    /// <summary>
    /// Branching rollouts of <c>arpo</c> / <c>aepo</c> (ignored by other algorithms): M is <see cref="GroupSize"/>; see
    /// <see cref="BranchingSettings"/> for every field and its default.
    /// </summary>
    [Id(24)] public BranchingSettings Branching { get; init; } = new();

    /// <summary>The branching settings an episode of this run gets (presets filled), or null when the algorithm does not branch.</summary>
    public BranchingSettings? EpisodeBranching() => Branching.ForAlgorithm(Algorithm);

    /// <summary>
    /// Kinds of flawed warm-start demonstrations, drawn uniformly for the <see cref="SftFlawedFraction"/> share:
    /// <c>wrong-tool-argument</c>, <c>wrong-final-answer</c>, <c>missing-answer-tag</c>, <c>skip-tool</c> (answers at once
    /// with a guess). Default <c>skip-tool</c>: the warm-started model knows the tool format but often skips its tool.
    /// </summary>
    [Id(25)] public IReadOnlyList<string> SftFlaws { get; init; } = ["skip-tool"];

    /// <summary>
    /// Synthetic "repeat this string" examples (strings over the characters the task's tool calls and results use) mixed
    /// into the warm start's demonstrations. A random tiny model has no copying circuit — pretraining gives real models
    /// one — and without it never learns to copy an expression into its tool call. 0 for a pretrained model. At most
    /// <see cref="SftDemonstrations"/> are used. Default 12800.
    /// </summary>
    [Id(30)] public int SftEchoExamples { get; init; } = 12800;

    /// <summary>
    /// Second warm-start phase: after the gold demonstrations, this many demonstrations of which
    /// <see cref="SftFlawedFraction"/> are flawed, with as many echo examples, at <see cref="SftFlawPhaseLearningRate"/>.
    /// A random tiny model learns to copy only from thousands of gold demonstrations; the flaw phase then takes away part
    /// of its tool use but not that skill. 0 mixes the flawed ones into the single phase instead. At most
    /// <see cref="SftDemonstrations"/>. Default 1600.
    /// </summary>
    [Id(31)] public int SftFlawPhaseDemonstrations { get; init; } = 1600;

    /// <summary>Peak learning rate of the flaw phase (10 warm-up steps, cosine). Default 1e-3.</summary>
    [Id(32)] public double SftFlawPhaseLearningRate { get; init; } = 1e-3;

    /// <summary>The names <see cref="SftFlaws"/> accepts.</summary>
    public static readonly IReadOnlyList<string> KnownSftFlaws = ["wrong-tool-argument", "wrong-final-answer", "missing-answer-tag", "skip-tool"];

    /// <summary>
    /// Where the trainer publishes policy checkpoints: <c>local</c> (default: <c>{RunDir}/{RunId}/checkpoints/</c>) or
    /// <c>azure-blob</c> (Azure Blob Storage or Azurite: <c>{CheckpointContainer}/{CheckpointPrefix}/{RunId}/checkpoints/</c>).
    /// A location <c>azure-blob://container/prefix</c> sets the container and prefix too.
    /// </summary>
    [Id(26)] public string CheckpointStore { get; init; } = "local";

    /// <summary>
    /// Azure store: the storage connection string (e.g. Azurite's). Empty (default): the trainer silo's
    /// <c>AgentRl:Checkpoints:ConnectionString</c> (or <c>ServiceUri</c>). Stored with the run's configuration.
    /// </summary>
    [Id(27)] public string? CheckpointConnectionString { get; init; }

    /// <summary>Azure store: the container, created when missing. Default <c>agentrl</c>.</summary>
    [Id(28)] public string CheckpointContainer { get; init; } = "agentrl";

    /// <summary>Azure store: blob name prefix above <c>{RunId}/checkpoints/</c>. Default <c>runs</c>.</summary>
    [Id(29)] public string CheckpointPrefix { get; init; } = "runs";

    /// <summary>
    /// The checkpoint store this configuration selects: <see cref="CheckpointStore"/> <c>local</c> or <c>azure-blob</c>, or an
    /// <c>azure-blob://container/prefix</c> location (container and prefix taken from it).
    /// </summary>
    public CheckpointStoreSpec ResolveCheckpointStore()
    {
        const string scheme = "azure-blob://";
        if (CheckpointStore.StartsWith(scheme, StringComparison.Ordinal))
        {
            var path = CheckpointStore[scheme.Length..].Trim('/');
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            return new CheckpointStoreSpec(CheckpointStoreSpec.AzureBlob, CheckpointConnectionString, slash < 0 ? path : path[..slash], slash < 0 ? "" : path[(slash + 1)..], RunId);
        }

        return new CheckpointStoreSpec(CheckpointStore, CheckpointConnectionString, CheckpointContainer, CheckpointPrefix, RunId);
    }

    public IEnumerable<string> Validate()
    {
        if (BranchingSettings.IsBranchingAlgorithm(Algorithm))
        {
            foreach (var problem in Branching.Validate(GroupSize))
            {
                yield return problem;
            }
        }

        if (Steps < 0) yield return "steps must be ≥ 0";
        if (SftOnly && SftDemonstrations < 1) yield return "sftOnly needs sftDemonstrations ≥ 1";
        if (SftOnly && Resume) yield return "sftOnly and resume exclude each other";
        if (SftOnly && !string.IsNullOrEmpty(InitFrom)) yield return "sftOnly and initFrom exclude each other (initFrom skips the warm start)";
        if (PromptsPerStep < 1) yield return "promptsPerStep must be ≥ 1";
        if (GroupSize < 1) yield return "groupSize must be ≥ 1";
        if (Temperature < 0) yield return "temperature must be ≥ 0";
        if (LearningRate <= 0 || SftLearningRate <= 0) yield return "learning rates must be > 0";
        if (SftFlawedFraction is < 0 or > 1) yield return "sftFlawedFraction must be in [0, 1]";
        if (SftEchoExamples < 0) yield return "sftEchoExamples must be ≥ 0";
        if (SftFlawPhaseDemonstrations < 0) yield return "sftFlawPhaseDemonstrations must be ≥ 0";
        if (SftFlawPhaseLearningRate <= 0 || double.IsNaN(SftFlawPhaseLearningRate)) yield return "sftFlawPhaseLearningRate must be > 0";
        if (SftFlawedFraction > 0 && (SftFlaws is null || SftFlaws.Count == 0)) yield return "sftFlaws must name at least one flaw when sftFlawedFraction > 0";
        foreach (var flaw in SftFlaws ?? [])
        {
            if (!KnownSftFlaws.Contains(flaw, StringComparer.OrdinalIgnoreCase)) yield return $"sftFlaws: unknown flaw '{flaw}' (known: {string.Join(", ", KnownSftFlaws)})";
        }
        if (EvalEvery < 1) yield return "evalEvery must be ≥ 1";
        if (EvalSize < 0 || PassK < 0) yield return "evalSize and passK must be ≥ 0";
        if (CheckpointStore is not (CheckpointStoreSpec.Local or CheckpointStoreSpec.AzureBlob) && !CheckpointStore.StartsWith("azure-blob://", StringComparison.Ordinal)) yield return "checkpointStore must be local, azure-blob or azure-blob://container/prefix";
        if (Limits.ContextBudget < 16 || Limits.MaxNewTokensPerTurn < 1 || Limits.MaxTurns < 1) yield return "limits: contextBudget ≥ 16, maxNewTokensPerTurn ≥ 1, maxTurns ≥ 1";
    }
}

/// <summary>Where a run stands, for progress displays.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.run-status.v1")]
public sealed record RunStatus
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required string State { get; init; } // Pending, WarmStart, Training, Completed, Failed, Stopped
    [Id(2)] public string Phase { get; init; } = "";
    [Id(3)] public int Step { get; init; }
    [Id(4)] public int Steps { get; init; }
    [Id(5)] public long PolicyVersion { get; init; }
    [Id(6)] public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    [Id(7)] public double? InitialEvalAccuracy { get; init; }
    [Id(8)] public double? WarmStartEvalAccuracy { get; init; }
    [Id(9)] public double? FinalEvalAccuracy { get; init; }
    [Id(10)] public string? Error { get; init; }
    [Id(11)] public double ElapsedSeconds { get; init; }
    [Id(12)] public double? EtaSeconds { get; init; }
    [Id(13)] public string RunDirectory { get; init; } = "";

    /// <summary>Last warm-start (SFT) loss, when the run had a warm start.</summary>
    [Id(14)] public double? WarmStartLoss { get; init; }

    /// <summary>Where the latest published checkpoint is (a Hugging Face model directory for the local store).</summary>
    [Id(15)] public string? CheckpointLocation { get; init; }

    /// <summary>The silo hosting the run grain (its address), so operators and tests can see where a run lives.</summary>
    [Id(16)] public string? Silo { get; init; }

    /// <summary>How often this run was taken up again from its last checkpoint after losing a silo (its own or one it called).</summary>
    [Id(17)] public int Recoveries { get; init; }

    /// <summary>The run activation's fencing epoch; with <see cref="Sequence"/> it orders statuses (pushes may arrive out of order).</summary>
    [Id(18)] public long Epoch { get; init; }

    /// <summary>Counts the changes of status within <see cref="Epoch"/>: a status with a lower (Epoch, Sequence) is older.</summary>
    [Id(19)] public long Sequence { get; init; }

    /// <summary>Whether this status is newer than <paramref name="other"/> (or as new: a poll of the same state).</summary>
    public bool IsNotOlderThan(RunStatus? other) =>
        other is null || Epoch > other.Epoch || (Epoch == other.Epoch && Sequence >= other.Sequence);

    /// <summary>Whether the state is a finished one: Completed, Failed or Stopped.</summary>
    public bool IsFinished => State is "Completed" or "Failed" or "Stopped";
}

/// <summary>One training run (key: run id): the step loop of DESIGN.md §4 as named, timed phases.</summary>
public interface ITrainingRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run in the background; returns at once. Fails if the run is already going.</summary>
    Task StartAsync(RunConfig config, CancellationToken cancellationToken = default);

    Task<RunStatus> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Asks the run to stop after the step in flight (or after the warm start); it then ends in state Stopped.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes an observer to this run's progress (each phase and step, and the end) and sends it the current status at
    /// once. Observers are not durable: a subscription expires unless renewed (call again) within the silo's
    /// subscription lifetime (<see cref="RunProgress.SubscriptionLifetime"/> by default), and a run that moves to another
    /// silo forgets them.
    /// </summary>
    Task SubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default);

    Task UnsubscribeAsync(IRunProgressObserver observer, CancellationToken cancellationToken = default);
}

/// <summary>Receives a run's progress pushed by its grain (a client object made into a reference with <c>CreateObjectReference</c>).</summary>
public interface IRunProgressObserver : IGrainObserver
{
    /// <summary>The run's status after a phase or step began or ended, or the run finished.</summary>
    [Orleans.Concurrency.OneWay]
    Task OnProgressAsync(RunStatus status);
}

/// <summary>Timing of progress subscriptions.</summary>
public static class RunProgress
{
    /// <summary>A subscription lapses this long after its last (re)subscription (silo option <c>AgentRl:Silo:ProgressSubscriptionLifetime</c>).</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromSeconds(60);

    /// <summary>How often a client renews its subscription: a third of the lifetime, so one lost renewal does not end it.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(20);
}

/// <summary>The checkpoint store a run's trainer publishes to, and from which other silos load published versions.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.checkpoint-store-spec.v1")]
public sealed record CheckpointStoreSpec(
    [property: Id(0)] string Kind,
    [property: Id(1)] string? ConnectionString,
    [property: Id(2)] string Container,
    [property: Id(3)] string Prefix,
    [property: Id(4)] string RunId)
{
    public const string Local = "local";

    public const string AzureBlob = "azure-blob";
}

/// <summary>
/// What the trainer needs to build its model and optimizer. <see cref="LoadsState"/>: a saved state is loaded next
/// (resume, initFrom), so the initial weights are never published.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.trainer-spec.v1")]
public sealed record TrainerSpec(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Algorithm,
    [property: Id(2)] double LearningRate,
    [property: Id(3)] int TotalSteps,
    [property: Id(4)] int TokenBudget,
    [property: Id(5)] int Seed,
    [property: Id(6)] string CheckpointDirectory,
    [property: Id(7)] string Attribution = "soft",
    [property: Id(8)] CheckpointStoreSpec? CheckpointStore = null,
    [property: Id(9)] bool LoadsState = false);

/// <summary>
/// The warm start: SFT on a task's demonstrations, some deliberately flawed. With <see cref="FlawPhaseDemonstrations"/> &gt; 0
/// it runs in two phases: first the gold demonstrations (and echo examples) alone, then a short phase of
/// <see cref="FlawPhaseDemonstrations"/> demonstrations of which <see cref="FlawedFraction"/> are flawed (with as many echo
/// examples) at <see cref="FlawPhaseLearningRate"/>. With 0, one phase with the flawed share mixed in.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.sft-spec.v1")]
public sealed record SftSpec(
    [property: Id(0)] string Task,
    [property: Id(1)] IReadOnlyDictionary<string, string> TaskOptions,
    [property: Id(2)] int Demonstrations,
    [property: Id(3)] double FlawedFraction,
    [property: Id(4)] int Epochs,
    [property: Id(5)] double LearningRate,
    [property: Id(6)] int Seed,
    [property: Id(7)] IReadOnlyList<string>? Flaws = null,
    [property: Id(8)] int EchoExamples = 0,
    [property: Id(9)] int FlawPhaseDemonstrations = 0,
    [property: Id(10)] double FlawPhaseLearningRate = 1e-3);

/// <summary>Loss parts, clip fractions, KL, entropy, gradient norm, tokens/s of one update, and the new version.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.train-result.v1")]
public sealed record TrainResult(
    [property: Id(0)] long PolicyVersion,
    [property: Id(1)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(2)] string? CheckpointLocation);

/// <summary>
/// Holds a policy's trainable model and optimizer (key: policy id). Placed only on <c>agentrl.accelerator=cuda</c>
/// silos, or on a trainer-role CPU silo when CPU training is allowed.
/// </summary>
public interface ITrainerGrain : IGrainWithStringKey
{
    /// <summary>
    /// A fresh trainable model and optimizer for a run. Returns the version of its initial weights: 0, or — when the policy
    /// already published versions (an earlier run on this cluster) — the next version, published at once so that no
    /// engine keeps serving the earlier run's weights under this run's version numbers.
    /// </summary>
    Task<long> InitializeAsync(TrainerSpec spec, CancellationToken cancellationToken = default);

    /// <summary>
    /// The whole warm start in one call: minutes on a tiny model, hours on a large one or a busy machine, so it is exempt
    /// from the silos' call timeout (<c>AgentRl:Silo:CallTimeout</c>, 30 minutes); a lost trainer silo still fails it at once.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task<TrainResult> SftAsync(SftSpec spec, CancellationToken cancellationToken = default);

    Task<TrainResult> TrainStepAsync(IReadOnlyList<Trajectory> trajectories, CancellationToken cancellationToken = default);

    /// <summary>Saves the trainer's full state (model, reference, AdamW moments, counters) to <paramref name="directory"/>, bit-exact.</summary>
    Task SaveStateAsync(string directory, CancellationToken cancellationToken = default);

    /// <summary>
    /// Restores what <see cref="SaveStateAsync"/> wrote (after <see cref="InitializeAsync"/> with the same policy), then
    /// publishes the restored weights so generators use them. Returns the restored version and its checkpoint location.
    /// </summary>
    Task<TrainResult> LoadStateAsync(string directory, CancellationToken cancellationToken = default);
}

/// <summary>A published policy version and where its weights are.</summary>
[GenerateSerializer, Immutable, Alias("agentrl.policy-version.v1")]
public sealed record PolicyVersionInfo(
    [property: Id(0)] long Version,
    [property: Id(1)] string? Location,
    [property: Id(2)] CheckpointStoreSpec? Store = null);

/// <summary>The current version of a policy (key: policy id); generators load it before generating with it.</summary>
public interface IPolicyRegistryGrain : IGrainWithStringKey
{
    Task PublishAsync(PolicyVersionInfo version, CancellationToken cancellationToken = default);

    Task<PolicyVersionInfo> GetLatestAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A trainer grain was called before <see cref="ITrainerGrain.InitializeAsync"/> — typically a new activation after the
/// silo holding the trainer was lost. The run redoes its step from the last checkpoint.
/// </summary>
[GenerateSerializer, Alias("agentrl.trainer-not-initialized.v1")]
public sealed class TrainerNotInitializedException : Exception
{
    public TrainerNotInitializedException()
    {
    }

    public TrainerNotInitializedException(string message)
        : base(message)
    {
    }

    public TrainerNotInitializedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A generator needs a policy version the registry does not (or no longer) list — e.g. the registry's silo was lost and it
/// came back empty. The run redoes its step from the last checkpoint, which republishes the trainer's weights.
/// </summary>
[GenerateSerializer, Alias("agentrl.policy-version-not-published.v1")]
public sealed class PolicyVersionNotPublishedException : Exception
{
    public PolicyVersionNotPublishedException()
    {
    }

    public PolicyVersionNotPublishedException(string message)
        : base(message)
    {
    }

    public PolicyVersionNotPublishedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
