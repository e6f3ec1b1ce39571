using AgentRl.Abstractions.Configuration;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Training;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Checkpoints;
using AgentRl.Policy.Generation;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentRl.Grains.Policies;

/// <summary>How a silo builds a policy it serves. Section <c>AgentRl:Policies:{policyId}</c>.</summary>
public sealed class PolicyOptions
{
    /// <summary>A Hugging Face model directory (config.json, model.safetensors, tokenizer.json). Empty: use <see cref="Preset"/>.</summary>
    public string? ModelDir { get; set; }

    /// <summary>
    /// Model shape when no <see cref="ModelDir"/> is given: <c>tiny</c> (default) or <c>small</c>, randomly initialised, with the
    /// byte-level tokenizer's vocabulary.
    /// </summary>
    public string Preset { get; set; } = "tiny";

    /// <summary>
    /// Where the inference engine computes: <c>auto</c> (default: cuda:0 on a silo whose accelerator is cuda, else the CPU),
    /// <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. A GPU the silo does not have stops the silo at start (exit 2).
    /// </summary>
    public string Device { get; set; } = ComputeTargets.Auto;

    /// <summary>The engine's compute dtype: <c>auto</c> (default: bf16 on cuda, f32 on the CPU), <c>f32</c>, <c>bf16</c> or <c>f16</c>.</summary>
    public string DType { get; set; } = ComputeTargets.Auto;

    /// <summary>Where this policy's trainer computes, as <see cref="Device"/>. Default <c>auto</c>.</summary>
    public string TrainerDevice { get; set; } = ComputeTargets.Auto;

    /// <summary>
    /// The trainer's compute dtype, as <see cref="DType"/>. Default <c>auto</c>. A bf16 or f16 trainer keeps f32 master
    /// weights and f32 AdamW moments; its checkpoints hold the f32 weights, and each engine converts them to its own dtype.
    /// </summary>
    public string TrainerDType { get; set; } = ComputeTargets.Auto;

    /// <summary>Chat template: <c>compact</c> (default; single special tokens, for tiny byte-level models) or <c>qwen2.5</c>.</summary>
    public string Template { get; set; } = "compact";

    /// <summary>Seed of the random initialisation, so every silo builds the same version-0 weights. Default 0.</summary>
    public long Seed { get; set; }

    /// <summary>Context length of a preset model (rotary positions extend to any length). Default 512.</summary>
    public int MaxPositions { get; set; } = 512;

    /// <summary>Rows the inference engine decodes together (<see cref="InferenceEngineOptions.MaxBatchSize"/>). Default 64.</summary>
    public int MaxBatchSize { get; set; } = Engine.MaxBatchSize;

    /// <summary>
    /// How long an idle engine waits after the first request for more to batch with
    /// (<see cref="InferenceEngineOptions.BatchingWindow"/>). Default 2 ms.
    /// </summary>
    public TimeSpan BatchingWindow { get; set; } = Engine.BatchingWindow;

    /// <summary>
    /// Finished sequences whose keys and values the engine keeps for prefix reuse
    /// (<see cref="InferenceEngineOptions.PrefixCacheEntries"/>). Default 16; 0 turns reuse off.
    /// </summary>
    public int PrefixCacheEntries { get; set; } = Engine.PrefixCacheEntries;

    /// <summary>Shortest shared prefix, in tokens, worth reusing (<see cref="InferenceEngineOptions.MinPrefixTokens"/>). Default 4.</summary>
    public int MinPrefixTokens { get; set; } = Engine.MinPrefixTokens;

    /// <summary>Torch intra-op threads of the engine's thread (<see cref="InferenceEngineOptions.IntraOpThreads"/>). Default 1; 0 leaves the process setting.</summary>
    public int IntraOpThreads { get; set; } = Engine.IntraOpThreads;

    /// <summary>
    /// Decoding steps of at most this many rows run in managed code when the model is f32 on the CPU
    /// (<see cref="InferenceEngineOptions.CpuDecodeMaxBatch"/>). Default 64; 0 sends every step through torch.
    /// </summary>
    public int CpuDecodeMaxBatch { get; set; } = Engine.CpuDecodeMaxBatch;

    /// <summary>Threads a managed decoding step splits its rows over (<see cref="InferenceEngineOptions.CpuDecodeThreads"/>). Default 0 = one per core.</summary>
    public int CpuDecodeThreads { get; set; } = Engine.CpuDecodeThreads;

    /// <summary>
    /// Longest sequence (prompt + generated) the engine accepts, in tokens (<see cref="InferenceEngineOptions.MaxSequenceLength"/>).
    /// Default: the model's <c>max_position_embeddings</c>.
    /// </summary>
    public int? MaxSequenceLength { get; set; } = Engine.MaxSequenceLength;

    /// <summary>
    /// Batch-invariant generation (<see cref="InferenceEngineOptions.BatchInvariant"/>): the same seed gives the same tokens,
    /// log-probs and entropies under any load. Default true; false lets torch compute prompts and large decoding steps.
    /// </summary>
    public bool BatchInvariant { get; set; } = Engine.BatchInvariant;

    private static InferenceEngineOptions Engine { get; } = new();

    /// <summary>The inference engine's settings these options name.</summary>
    public InferenceEngineOptions EngineOptions() => new()
    {
        MaxBatchSize = MaxBatchSize,
        BatchingWindow = BatchingWindow,
        PrefixCacheEntries = PrefixCacheEntries,
        MinPrefixTokens = MinPrefixTokens,
        IntraOpThreads = IntraOpThreads,
        CpuDecodeMaxBatch = CpuDecodeMaxBatch,
        CpuDecodeThreads = CpuDecodeThreads,
        MaxSequenceLength = MaxSequenceLength,
        BatchInvariant = BatchInvariant,
    };

    /// <summary>Every problem with the fields: each names the field (camelCase), its value and the allowed range.</summary>
    public IEnumerable<string> Problems()
    {
        var check = new OptionChecks();
        if (string.IsNullOrWhiteSpace(ModelDir) && !ModelConfig.PresetNames.Contains(Preset, StringComparer.Ordinal))
        {
            check.Add($"preset = '{Preset}' is not one of {string.Join(", ", ModelConfig.PresetNames)}");
        }

        if (!ChatTemplates.Names.Contains(Template, StringComparer.Ordinal))
        {
            check.Add($"template = '{Template}' is not one of {string.Join(", ", ChatTemplates.Names)}");
        }

        foreach (var (name, value) in new[] { (nameof(Device), Device), (nameof(TrainerDevice), TrainerDevice) })
        {
            if (ComputeTargets.DeviceProblem(value) is { } problem)
            {
                check.Add($"{char.ToLowerInvariant(name[0])}{name[1..]} = {problem}");
            }
        }

        foreach (var (name, value) in new[] { (nameof(DType), DType), (nameof(TrainerDType), TrainerDType) })
        {
            if (ComputeTargets.DTypeProblem(value) is { } problem)
            {
                check.Add($"{char.ToLowerInvariant(name[0])}{name[1..]} = {problem}");
            }
        }

        check.AtLeast(nameof(MaxPositions), MaxPositions, 8);
        check.AtLeast(nameof(MaxBatchSize), MaxBatchSize, 1);
        check.Between(nameof(BatchingWindow) + "Ms", BatchingWindow.TotalMilliseconds, 0, 60_000);
        check.AtLeast(nameof(PrefixCacheEntries), PrefixCacheEntries, 0);
        check.AtLeast(nameof(MinPrefixTokens), MinPrefixTokens, 1);
        check.AtLeast(nameof(IntraOpThreads), IntraOpThreads, 0);
        check.AtLeast(nameof(CpuDecodeMaxBatch), CpuDecodeMaxBatch, 0);
        check.AtLeast(nameof(CpuDecodeThreads), CpuDecodeThreads, 0);
        if (MaxSequenceLength is { } length)
        {
            check.AtLeast(nameof(MaxSequenceLength), length, 2);
        }

        return check.Problems;
    }
}

/// <summary>The options of every policy a silo may serve. Policies not listed get the defaults of <see cref="PolicyOptions"/>.</summary>
public sealed class PolicyHostOptions
{
    public const string SectionName = "AgentRl:Policies";

    public Dictionary<string, PolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The options of <paramref name="policyId"/>: configured ones, or for an id <c>dir:PATH</c> the Hugging Face directory
    /// PATH (chat template by tokenizer: <c>compact</c> for byte-level, else <c>qwen2.5</c>), else the defaults.
    /// </summary>
    public PolicyOptions For(string policyId)
    {
        if (Policies.TryGetValue(policyId, out var options))
        {
            return options;
        }

        if (policyId.StartsWith(DirectoryPrefix, StringComparison.Ordinal))
        {
            var directory = policyId[DirectoryPrefix.Length..];
            var byteLevel = File.Exists(Path.Combine(directory, "tokenizer.json")) && ByteLevelTokenizer.TryFrom(HfTokenizerFile.Load(directory)) is not null;
            return new PolicyOptions { ModelDir = directory, Template = byteLevel ? "compact" : "qwen2.5" };
        }

        return new PolicyOptions();
    }

    /// <summary>Policy ids of this form name a model directory directly: <c>dir:/path/to/model</c>.</summary>
    public const string DirectoryPrefix = "dir:";
}

/// <summary>One policy loaded in this process: model, tokenizer, chat template and the inference engine that owns the model.</summary>
public sealed class LocalPolicy : IDisposable
{
    public LocalPolicy(string id, CausalLanguageModel model, ITokenizer tokenizer, IChatTemplate template, InferenceEngineOptions engineOptions)
    {
        Id = id;
        Model = model;
        Tokenizer = tokenizer;
        Template = template;
        Engine = new InferenceEngine(model, 0, new TokenizerDecoder(tokenizer), engineOptions);
    }

    public string Id { get; }

    public CausalLanguageModel Model { get; }

    public ITokenizer Tokenizer { get; }

    public IChatTemplate Template { get; }

    public InferenceEngine Engine { get; }

    /// <summary>Serialises weight loads of this policy.</summary>
    public SemaphoreSlim VersionGate { get; } = new(1, 1);

    public void Dispose()
    {
        Engine.Dispose();
        Model.Dispose();
        VersionGate.Dispose();
    }

    private sealed class TokenizerDecoder(ITokenizer tokenizer) : ITokenDecoder
    {
        public string Decode(IReadOnlyList<int> tokenIds) => tokenizer.Decode(tokenIds.ToArray());
    }
}

/// <summary>The policies this silo serves, built on first use (one inference engine per policy per process).</summary>
public sealed class PolicyHost(IOptions<PolicyHostOptions> hostOptions, IOptions<CheckpointStoreOptions> checkpointOptions, ILogger<PolicyHost> logger, SiloCompute? compute = null) : IDisposable
{
    private readonly PolicyHostOptions _options = hostOptions.Value;
    private readonly SiloCompute _compute = compute ?? SiloCompute.Cpu;

    /// <summary>What this silo computes on.</summary>
    public SiloCompute Compute => _compute;

    /// <summary>Where <paramref name="policyId"/>'s inference engine computes on this silo.</summary>
    /// <exception cref="ComputeDeviceUnavailableException">Its configuration names a GPU this silo does not have.</exception>
    public ComputeTarget EngineTarget(string policyId) => _compute.Engine(_options.For(policyId));

    /// <summary>Where <paramref name="policyId"/>'s trainer computes on this silo.</summary>
    /// <exception cref="ComputeDeviceUnavailableException">Its configuration names a GPU this silo does not have.</exception>
    public ComputeTarget TrainerTarget(string policyId) => _compute.Trainer(_options.For(policyId));

    /// <summary>The options this host builds policies from.</summary>
    public PolicyHostOptions Options => _options;
    private readonly Dictionary<string, Lazy<LocalPolicy>> _policies = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public LocalPolicy Get(string policyId)
    {
        Lazy<LocalPolicy> entry;
        lock (_gate)
        {
            if (!_policies.TryGetValue(policyId, out entry!))
            {
                entry = new Lazy<LocalPolicy>(() => Build(policyId), LazyThreadSafetyMode.ExecutionAndPublication);
                _policies[policyId] = entry;
            }
        }

        return entry.Value;
    }

    private LocalPolicy Build(string policyId)
    {
        var policy = _options.For(policyId);
        var target = EngineTarget(policyId);
        var (model, tokenizer) = CreateModel(policyId);
        if (!model.IsOn(target))
        {
            model = model.MoveTo(target);
        }

        model.eval();
        logger.LogInformation("Policy {PolicyId}: {Source}, {Parameters} parameters, template {Template}, engine on {Target}", policyId, policy.ModelDir ?? $"preset {policy.Preset} (seed {policy.Seed})", model.parameters().Sum(p => p.numel()), policy.Template, target);
        var local = new LocalPolicy(policyId, model, tokenizer, ChatTemplates.Create(policy.Template, tokenizer), policy.EngineOptions());
        if (policy.BatchInvariant && !local.Engine.BatchInvariant)
        {
            logger.LogWarning("Policy {PolicyId}: batchInvariant is on but the model is {DType} on {Device}; only f32 CPU models generate batch-invariantly, so this policy's samples depend on batching", policyId, model.DType, model.Device.type);
        }

        return local;
    }

    /// <summary>
    /// A new instance of the policy's version-0 model (its Hugging Face directory, or the seeded preset) and its tokenizer,
    /// in f32 on the CPU. Every silo builds the same weights, so the trainer's copy and each engine's copy start equal;
    /// each then moves its copy to its own target (<see cref="EngineTarget"/>, <see cref="TrainerTarget"/>).
    /// </summary>
    public (CausalLanguageModel Model, ITokenizer Tokenizer) CreateModel(string policyId)
    {
        var policy = _options.For(policyId);
        if (!string.IsNullOrWhiteSpace(policy.ModelDir))
        {
            return PolicyLoader.Load(policy.ModelDir);
        }

        // The preset's shape with exactly the tokenizer's vocabulary: a random model must never sample an id
        // the tokenizer cannot decode.
        var tokenizer = new ByteLevelTokenizer();
        var model = new CausalLanguageModel(ModelConfig.Named(policy.Preset) with { VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = policy.MaxPositions });
        model.InitializeWeights(seed: policy.Seed);
        return (model, tokenizer);
    }

    /// <summary>The chat template of a policy, for components that render prompts without generating.</summary>
    public IChatTemplate Template(string policyId) => Get(policyId).Template;

    /// <summary>
    /// Makes this silo's engine generate with at least <paramref name="minVersion"/>: loads the newest published version
    /// from its checkpoint location when the engine is older — a folder, or for the Azure store a download of the version
    /// (checked against its manifest) into a temporary folder. Concurrent callers share one load.
    /// </summary>
    public async Task EnsureVersionAsync(string policyId, long minVersion, Func<Task<PolicyVersionInfo>> latest, CancellationToken cancellationToken)
    {
        var policy = Get(policyId);
        if (policy.Engine.PolicyVersion >= minVersion)
        {
            return;
        }

        await policy.VersionGate.WaitAsync(cancellationToken);
        try
        {
            if (policy.Engine.PolicyVersion >= minVersion)
            {
                return;
            }

            var info = await latest();
            var (version, location) = (info.Version, info.Location);
            if (version < minVersion || location is null)
            {
                throw new PolicyVersionNotPublishedException($"Policy '{policyId}' version {minVersion} is not published (latest: {version}).");
            }

            string? downloaded = null;
            try
            {
                if (info.Store is { Kind: CheckpointStoreSpec.AzureBlob } store)
                {
                    downloaded = Directory.CreateTempSubdirectory("agentrl-policy-").FullName;
                    await RunCheckpointStores.Create(store, downloaded, checkpointOptions.Value).DownloadAsync(version, downloaded, cancellationToken);
                }

                using var checkpoint = HfCheckpoint.Open(downloaded ?? location);
                var weights = checkpoint.Weights.ReadAll();
                try
                {
                    await policy.Engine.LoadWeightsAsync(version, weights, cancellationToken);
                }
                finally
                {
                    foreach (var tensor in weights.Values)
                    {
                        tensor.Dispose();
                    }
                }
            }
            finally
            {
                if (downloaded is not null)
                {
                    Directory.Delete(downloaded, recursive: true);
                }
            }

            logger.LogInformation("Policy {PolicyId}: loaded version {Version} from {Location}", policyId, version, location);
        }
        finally
        {
            policy.VersionGate.Release();
        }
    }

    /// <summary>In-process shortcut: a trainer on this silo hands new weights straight to this silo's engine, if it runs one.</summary>
    public async Task PublishLocalAsync(string policyId, long version, IReadOnlyDictionary<string, TorchSharp.torch.Tensor> weights, CancellationToken cancellationToken)
    {
        Lazy<LocalPolicy>? entry;
        lock (_gate)
        {
            _policies.TryGetValue(policyId, out entry);
        }

        if (entry is { IsValueCreated: true } && entry.Value.Engine.PolicyVersion < version)
        {
            await entry.Value.Engine.LoadWeightsAsync(version, weights, cancellationToken);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var entry in _policies.Values.Where(e => e.IsValueCreated))
            {
                entry.Value.Dispose();
            }

            _policies.Clear();
        }
    }
}
