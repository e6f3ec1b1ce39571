using System.Text.Json.Serialization;
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

    /// <summary>Task options (see <c>agentrl tasks list</c>), e.g. <c>{"min-operations": 2}</c>.</summary>
    [Id(2)]
    [JsonConverter(typeof(ScalarMapJsonConverter))]
    public Dictionary<string, string> TaskOptions { get; init; } = [];

    /// <summary>Policy id the silos serve (<c>AgentRl:Policies:{id}</c>); default <c>default</c> = tiny preset.</summary>
    [Id(3)] public string PolicyId { get; init; } = "default";

    /// <summary>
    /// A name of the algorithm registry (docs/ALGORITHMS.md): <c>grpo</c> (default), <c>drgrpo</c>, <c>rloo</c>,
    /// <c>reinforce++</c>, <c>dapo</c>, <c>gspo</c>, <c>clip-cov</c>, <c>kl-cov</c>, and the branching algorithms <c>arpo</c>
    /// and <c>aepo</c>, which use <see cref="Branching"/>. It sets the defaults of <see cref="Objective"/>.
    /// </summary>
    [Id(4)] public string Algorithm { get; init; } = "grpo";

    /// <summary>
    /// Overrides of the algorithm's objective, by field (camelCase), e.g. <c>{"clipRatioHigh": 0.28, "ppoEpochs"…}</c> or
    /// <c>--set objective.clipRatioHigh=0.28</c>: every field of the objective (advantage estimator, loss kind, aggregation,
    /// clip ratios, KL loss and KL in the reward, entropy bonus, Clip-Cov / KL-Cov, DAPO's dynamic sampling and overlong
    /// shaping, AEPO's entropy-aware advantage). Unset fields keep the preset; <c>--print-config</c> shows them all. Default empty.
    /// </summary>
    [Id(34)]
    [JsonConverter(typeof(ScalarMapJsonConverter))]
    public Dictionary<string, string> Objective { get; init; } = [];

    /// <summary>
    /// Overrides of the trainer's options, by field (camelCase), e.g. <c>--set trainer.ppoEpochs=2</c>: AdamW (weightDecay,
    /// beta1, beta2, epsilon, decayAllParameters), the schedule (warmupSteps, schedule, minLearningRateRatio), maxGradNorm,
    /// ppoEpochs, miniBatches, deduplicatePrefixes, keepReferenceModel. The learning rate, token budget, steps and seed are
    /// the run's own fields. Default empty (the documented defaults).
    /// </summary>
    [Id(35)]
    [JsonConverter(typeof(ScalarMapJsonConverter))]
    public Dictionary<string, string> Trainer { get; init; } = [];

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
    /// Warm-start demonstrations (0 = no warm start). Default 19200: with 12,800, one seed in three of the main job's warm
    /// start copied numbers unreliably, and 25 RL steps could not teach copying. All gold when <see cref="SftFlawPhaseDemonstrations"/>
    /// &gt; 0 (the flawed ones come in that phase); otherwise <see cref="SftFlawedFraction"/> of them are flawed.
    /// </summary>
    [Id(11)] public int SftDemonstrations { get; init; } = 19200;

    /// <summary>Warm-start epochs. Default 1.</summary>
    [Id(12)] public int SftEpochs { get; init; } = 1;

    /// <summary>Warm-start learning rate. Default 3e-3.</summary>
    [Id(13)] public double SftLearningRate { get; init; } = 3e-3;

    /// <summary>
    /// Share of deliberately flawed demonstrations (<see cref="SftFlaws"/>, on randomly chosen items): of the flaw phase's
    /// demonstrations when <see cref="SftFlawPhaseDemonstrations"/> &gt; 0, else of <see cref="SftDemonstrations"/>. Default 0:
    /// the main job's teacher is imperfect in a task-specific way instead (the arithmetic task's
    /// <c>teacherMentalOperators</c>), which more SFT cannot correct and RL can.
    /// </summary>
    [Id(14)] public double SftFlawedFraction { get; init; }

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
    /// Branching rollouts of the branching algorithms <c>arpo</c> / <c>aepo</c> (ignored by the others): M is <see cref="GroupSize"/>; see
    /// <see cref="BranchingSettings"/> for every field and its default.
    /// </summary>
    [Id(24)] public BranchingSettings Branching { get; init; } = new();

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
    /// <see cref="SftDemonstrations"/> are used. Default 19200.
    /// </summary>
    [Id(30)] public int SftEchoExamples { get; init; } = 19200;

    /// <summary>
    /// Second warm-start phase: after the gold demonstrations, this many demonstrations of which
    /// <see cref="SftFlawedFraction"/> are flawed, with as many echo examples, at <see cref="SftFlawPhaseLearningRate"/>.
    /// A random tiny model learns to copy only from thousands of gold demonstrations; the flaw phase then takes away part
    /// of its tool use but not that skill. 0 mixes the flawed ones into the single phase instead. At most
    /// <see cref="SftDemonstrations"/>. Default 0 (one phase).
    /// </summary>
    [Id(31)] public int SftFlawPhaseDemonstrations { get; init; }

    /// <summary>Peak learning rate of the flaw phase (10 warm-up steps, cosine). Default 1e-3.</summary>
    [Id(32)] public double SftFlawPhaseLearningRate { get; init; } = 1e-3;

    /// <summary>Demonstrations per warm-start (SFT) batch, both phases; batches are shuffled. Default 16.</summary>
    [Id(36)] public int SftBatchSize { get; init; } = 16;

    /// <summary>Linear warm-up steps of the warm start's first phase, before its cosine decay. Default 20.</summary>
    [Id(37)] public int SftWarmupSteps { get; init; } = 20;

    /// <summary>Linear warm-up steps of the flaw phase (<see cref="SftFlawPhaseDemonstrations"/>), before its cosine decay. Default 10.</summary>
    [Id(38)] public int SftFlawPhaseWarmupSteps { get; init; } = 10;

    /// <summary>
    /// Share (0..1) of the gold demonstrations that get a second copy in the warm start with their last tool result
    /// redrawn at random and the answer quoting the new result (a copy drill: in that copy only the result predicts the
    /// answer, so the model learns to read it instead of guessing it from the question). Default 0.25. 0 adds none.
    /// </summary>
    [Id(48)] public double SftRedrawResultShare { get; init; } = 0.25;

    /// <summary>
    /// Swarm training through a shared experience pool (<c>agentrl swarm</c>; see <see cref="SwarmSettings"/>): I own plus
    /// J external groups per step, which replace <see cref="PromptsPerStep"/>. Default none (no pool).
    /// </summary>
    [Id(39)] public SwarmSettings? Swarm { get; init; }

    /// <summary>
    /// <c>sync</c> (default): each step rolls out its groups under the current version, then trains on them. <c>async</c>
    /// (AReaL, docs/ALGORITHMS.md §5): episodes stay in flight while the trainer updates; a staleness manager admits a new
    /// group only while the AReaL capacity allows (<see cref="MaxStaleness"/>, <see cref="MaxConcurrentEpisodes"/>), and a
    /// step trains on the oldest <see cref="PromptsPerStep"/> finished groups as soon as they are there. With
    /// <see cref="MaxStaleness"/> 0 an async run is the synchronous run.
    /// </summary>
    [Id(41)] public string Mode { get; init; } = Modes.Sync;

    /// <summary>η of async mode: a trained group was admitted at most this many versions before the trainer's. Default 2.</summary>
    [Id(42)] public int MaxStaleness { get; init; } = 2;

    /// <summary>Async mode: episodes in flight at most; 0 (default) = only the staleness bound, (η + 1)·promptsPerStep.</summary>
    [Id(43)] public int MaxConcurrentEpisodes { get; init; }

    /// <summary>
    /// APRIL's over-provisioning (docs/ALGORITHMS.md §7): a step keeps ⌈overSampling·<see cref="PromptsPerStep"/>⌉ groups
    /// started (its own and those carried over), trains on the first <see cref="PromptsPerStep"/> to finish, and carries the
    /// unfinished ones over to the next step, where they are taken first. Carried-over groups are not aborted: their
    /// episode and branch grains, sandbox sessions and the engine's rows keep their state and keep generating, under the
    /// newer weights once published. In <c>sync</c> mode new groups are started only at the start of a step and a
    /// carried-over group lags at most <see cref="MaxStaleness"/> versions. Default 1 (off); e.g. 2.
    /// </summary>
    [Id(44)] public double OverSampling { get; init; } = 1.0;

    /// <summary>APRIL: train only the tokens generated under the trainer's current version (older ones get loss mask 0). Default false.</summary>
    [Id(45)] public bool MaskOffPolicyInPartial { get; init; }

    /// <summary>
    /// What the run's RL is measured against, on the same held-out split. <c>sft-equal-time</c> (default): after the last
    /// step, the warm start alone trained on for as long as the RL took — the trainer's warm-start state (this run's, or
    /// <see cref="InitFrom"/>'s) restored, then SFT on fresh demonstrations of the same recipe, its schedule restarted and
    /// stopped when the RL steps' wall time (their phases, evaluations left out, from <c>timings.csv</c>) is spent —
    /// evaluated, and the trainer put back to the run's last state. Its figures go to <c>baseline.json</c> and the run's
    /// status. It needs a warm start and RL steps, and is skipped otherwise. <c>none</c>: no baseline.
    /// </summary>
    [Id(46)] public string Baseline { get; init; } = Baselines.SftEqualTime;

    /// <summary>
    /// How long the run waits out a storage outage — the blob checkpoint or run store past its client's retries, or Redis
    /// behind grain storage — before it fails. Meanwhile it is <see cref="RunState.Paused"/> (its phase says why) and tries
    /// again from its last checkpoint every 2 s, doubling to 30 s; when storage answers it goes on by itself, each step
    /// still recorded once. Default 10 minutes; 0 fails at the first outage.
    /// </summary>
    [Id(47)] public TimeSpan StorageOutageTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Values of <see cref="Baseline"/>.</summary>
    public static class Baselines
    {
        public const string None = "none";
        public const string SftEqualTime = "sft-equal-time";
        public static IReadOnlyList<string> Names { get; } = [None, SftEqualTime];
    }

    /// <summary>Whether the run ends with the equal-time SFT baseline: <see cref="Baseline"/> says so, it has RL steps and a warm start (its own or <see cref="InitFrom"/>'s).</summary>
    [JsonIgnore]
    public bool RunsBaseline => Baseline == Baselines.SftEqualTime && !SftOnly && Steps > 0 && (SftDemonstrations > 0 || !string.IsNullOrEmpty(InitFrom));

    /// <summary>Whether <see cref="Mode"/> is <c>async</c>.</summary>
    [JsonIgnore]
    public bool IsAsync => Mode == Modes.Async;

    /// <summary>Whether groups are a stream that outlives a step (<c>async</c>, or <see cref="OverSampling"/> above 1).</summary>
    [JsonIgnore]
    public bool StreamsRollouts => IsAsync || OverSampling > 1;

    /// <summary>Values of <see cref="Mode"/>.</summary>
    public static class Modes
    {
        public const string Sync = "sync";
        public const string Async = "async";
        public static IReadOnlyList<string> Names { get; } = [Sync, Async];
    }

    /// <summary>Prompts the run rolls out itself per step: <see cref="SwarmSettings.Local"/> in a swarm, else <see cref="PromptsPerStep"/>.</summary>
    [JsonIgnore]
    public int LocalPromptsPerStep => Swarm?.Local ?? PromptsPerStep;

    /// <summary>Groups a step trains on: I + J in a swarm, else <see cref="PromptsPerStep"/>.</summary>
    [JsonIgnore]
    public int GroupsPerStep => Swarm?.GroupsPerStep ?? PromptsPerStep;

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
    /// <c>AgentRl:Checkpoints:ConnectionString</c> (or <c>ServiceUri</c>). Kept in the run grain's storage, never in the
    /// run's files (<see cref="WithoutSecrets"/>).
    /// </summary>
    [Id(27)] public string? CheckpointConnectionString { get; init; }

    /// <summary>Azure store: the container, created when missing. Default <c>agentrl</c>.</summary>
    [Id(28)] public string CheckpointContainer { get; init; } = "agentrl";

    /// <summary>Azure store: blob name prefix above <c>{RunId}/checkpoints/</c>. Default <c>runs</c>.</summary>
    [Id(29)] public string CheckpointPrefix { get; init; } = "runs";

    /// <summary>
    /// Where everything the run needs to continue, and everything a client shows, is kept: <c>local</c> (the run folder
    /// under <see cref="RunDir"/>, which every trainer-capable silo must then see) or <c>azure-blob</c> (the checkpoint
    /// store's container and prefix: <c>{prefix}/{RunId}/files/</c> for run_state.json, metrics, trajectories and plots,
    /// <c>{prefix}/{RunId}/trainer/</c> for the trainer state), or <c>azure-blob://container/prefix</c>. With a blob run
    /// store the run folder is only a cache, so a cluster needs no shared volume; it requires an <c>azure-blob</c>
    /// <see cref="CheckpointStore"/>. Empty (default): <c>local</c>. Clients see such runs through silos whose
    /// <c>AgentRl:RunStore</c> section names the same container and prefix.
    /// </summary>
    [Id(40)] public string? RunStore { get; init; }

    /// <summary>
    /// The run store this configuration selects (<see cref="RunStore"/>), null for <c>local</c>; <c>azure-blob</c> alone
    /// takes the checkpoint store's container and prefix and the checkpoint connection.
    /// </summary>
    public CheckpointStoreSpec? ResolveRunStore()
    {
        const string scheme = "azure-blob://";
        if (RunStore is null or "" or CheckpointStoreSpec.Local)
        {
            return null;
        }

        if (RunStore.StartsWith(scheme, StringComparison.Ordinal))
        {
            var path = RunStore[scheme.Length..].Trim('/');
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            return new CheckpointStoreSpec(CheckpointStoreSpec.AzureBlob, CheckpointConnectionString, slash < 0 ? path : path[..slash], slash < 0 ? "" : path[(slash + 1)..], RunId);
        }

        var checkpoints = ResolveCheckpointStore();
        return checkpoints with { Kind = CheckpointStoreSpec.AzureBlob };
    }

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

    /// <summary>
    /// The configuration as the run's files keep it (<c>config.json</c>, <c>run_state.json</c>): without
    /// <see cref="CheckpointConnectionString"/>, a secret. A run resumed or evaluated from its files uses the silos'
    /// <c>AgentRl:Checkpoints:ConnectionString</c> (or <c>ServiceUri</c>) instead; the run grain keeps the full
    /// configuration in grain storage for its own take-overs.
    /// </summary>
    public RunConfig WithoutSecrets() => CheckpointConnectionString is null ? this : this with { CheckpointConnectionString = null };

    /// <summary>Whether this run does a warm start: SFT demonstrations, and neither resumed nor initialised from another run.</summary>
    public bool WarmStarts() => SftDemonstrations > 0 && !Resume && string.IsNullOrEmpty(InitFrom);

    public IEnumerable<string> Validate()
    {
        // The algorithm, its objective and trainer overrides and the branching settings are checked where they are
        // resolved (the algorithm registry), since their names and ranges live with the objective.
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
        if (SftRedrawResultShare is < 0 or > 1 || double.IsNaN(SftRedrawResultShare)) yield return $"sftRedrawResultShare = {SftRedrawResultShare} is outside the allowed range [0, 1]";
        if (SftFlawPhaseDemonstrations < 0) yield return "sftFlawPhaseDemonstrations must be ≥ 0";
        if (SftBatchSize < 1) yield return $"sftBatchSize = {SftBatchSize} is outside the allowed range [1, ∞)";
        if (SftWarmupSteps < 0 || SftFlawPhaseWarmupSteps < 0) yield return "sftWarmupSteps and sftFlawPhaseWarmupSteps must be ≥ 0";
        if (SftFlawPhaseLearningRate <= 0 || double.IsNaN(SftFlawPhaseLearningRate)) yield return "sftFlawPhaseLearningRate must be > 0";
        if (SftFlawedFraction > 0 && (SftFlaws is null || SftFlaws.Count == 0)) yield return "sftFlaws must name at least one flaw when sftFlawedFraction > 0";
        foreach (var flaw in SftFlaws ?? [])
        {
            if (!KnownSftFlaws.Contains(flaw, StringComparer.OrdinalIgnoreCase)) yield return $"sftFlaws: unknown flaw '{flaw}' (known: {string.Join(", ", KnownSftFlaws)})";
        }
        if (EvalEvery < 1) yield return "evalEvery must be ≥ 1";
        if (EvalSize < 0 || PassK < 0) yield return "evalSize and passK must be ≥ 0";
        if (!Baselines.Names.Contains(Baseline, StringComparer.Ordinal)) yield return $"baseline = '{Baseline}' is not one of {string.Join(", ", Baselines.Names)}";
        if (!Modes.Names.Contains(Mode, StringComparer.Ordinal)) yield return $"mode = '{Mode}' is not one of {string.Join(", ", Modes.Names)}";
        if (StorageOutageTimeout < TimeSpan.Zero) yield return $"storageOutageTimeout = {StorageOutageTimeout} is outside the allowed range [00:00:00, ∞)";
        if (MaxStaleness < 0) yield return $"maxStaleness = {MaxStaleness} is outside the allowed range [0, ∞)";
        if (MaxConcurrentEpisodes < 0) yield return $"maxConcurrentEpisodes = {MaxConcurrentEpisodes} is outside the allowed range [0, ∞) (0 = no limit beyond the staleness bound)";
        if (!(OverSampling >= 1) || double.IsInfinity(OverSampling)) yield return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"overSampling = {OverSampling} is outside the allowed range [1, ∞)");
        if (StreamsRollouts && Swarm is not null) yield return "mode async and overSampling > 1 do not combine with swarm yet: a swarm step draws external groups at its own version";
        foreach (var problem in Swarm?.Validate() ?? [])
        {
            yield return problem;
        }
        if (RunStore is not (null or "" or CheckpointStoreSpec.Local or CheckpointStoreSpec.AzureBlob) && !RunStore.StartsWith("azure-blob://", StringComparison.Ordinal)) yield return "runStore must be local, azure-blob or azure-blob://container/prefix";
        if (ResolveRunStore() is not null && ResolveCheckpointStore().Kind != CheckpointStoreSpec.AzureBlob) yield return "runStore azure-blob needs checkpointStore azure-blob: with no shared disk, rollout silos load the policy's weights from the blob store";
        if (CheckpointStore is not (CheckpointStoreSpec.Local or CheckpointStoreSpec.AzureBlob) && !CheckpointStore.StartsWith("azure-blob://", StringComparison.Ordinal)) yield return "checkpointStore must be local, azure-blob or azure-blob://container/prefix";
        if (Limits.ContextBudget < 16) yield return $"limits.contextBudget = {Limits.ContextBudget} is outside the allowed range [16, ∞)";
        if (Limits.MaxNewTokensPerTurn < 1) yield return $"limits.maxNewTokensPerTurn = {Limits.MaxNewTokensPerTurn} is outside the allowed range [1, ∞)";
        if (Limits.MaxTurns < 1) yield return $"limits.maxTurns = {Limits.MaxTurns} is outside the allowed range [1, ∞)";
        if (Limits.MaxToolCalls < 0) yield return $"limits.maxToolCalls = {Limits.MaxToolCalls} is outside the allowed range [0, ∞)";
        if (!(Limits.ToolTimeoutSeconds > 0 && Limits.ToolTimeoutSeconds <= MaxToolTimeoutSeconds))
        {
            yield return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"limits.toolTimeoutSeconds = {Limits.ToolTimeoutSeconds} is outside the allowed range (0, {MaxToolTimeoutSeconds}]");
        }
    }

    /// <summary>The longest per-call tool timeout a run may set: one day, as a tool session allows.</summary>
    public const double MaxToolTimeoutSeconds = 24 * 60 * 60;
}
