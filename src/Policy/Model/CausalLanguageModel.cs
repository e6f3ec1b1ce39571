using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>
/// A Llama / Qwen2 decoder-only language model (<c>LlamaForCausalLM</c> / <c>Qwen2ForCausalLM</c>). Its
/// <c>state_dict()</c> keys are exactly the Hugging Face names (<c>model.embed_tokens.weight</c>,
/// <c>model.layers.N.self_attn.q_proj.weight</c>, …, <c>lm_head.weight</c> only when embeddings are untied), so a
/// safetensors checkpoint fills it by name.
/// </summary>
public sealed class CausalLanguageModel : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "model")]
    private readonly DecoderStack _model;
    [ComponentName(Name = "lm_head")]
    private readonly Linear? _lmHead;
    private readonly RotaryEmbedding _rotary;
    private CpuDecoder? _cpuDecoder;

    public CausalLanguageModel(ModelConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base("CausalLanguageModel")
    {
        Config = config;
        Device = device ?? CPU;
        DType = dtype;
        _model = new DecoderStack(config, Device, dtype);
        _lmHead = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: Device, dtype: dtype);
        _rotary = new RotaryEmbedding(config.HeadDim, config.RopeTheta, config.MaxPositionEmbeddings, Device, dtype);
        RegisterComponents();
    }

    public ModelConfig Config { get; }

    public Device Device { get; }

    public ScalarType DType { get; }

    /// <summary>
    /// Training / scoring forward: causal attention over the inputs only, no cache. Rows may be right-padded: a real
    /// token never attends to a later position, so padding does not change the logits of real tokens.
    /// </summary>
    /// <param name="inputIds">[batch, seq] int64</param>
    /// <returns>[batch, seq, vocab] logits in the model dtype.</returns>
    public override Tensor forward(Tensor inputIds)
    {
        var seq = inputIds.size(1);
        var (cos, sin) = _rotary.ForRange(seq);                                     // [1, 1, seq, head_dim]
        var inputs = new AttentionInputs { Cos = cos, Sin = sin };
        var hidden = _model.forward(inputIds, inputs);                              // [batch, seq, hidden]
        return Logits(hidden);                                                      // [batch, seq, vocab]
    }

    /// <summary>
    /// Forward over packed rows (no cache): each token has an explicit position and attends exactly where
    /// <paramref name="mask"/> allows, so one row can hold a rollout tree — a path and the suffixes of its forks, each
    /// suffix attending to its ancestors' tokens up to its fork — and every shared prefix is computed once.
    /// </summary>
    /// <param name="inputIds">[batch, seq] int64</param>
    /// <param name="positions">[batch, seq] int64 rotary position of each token in its own sequence.</param>
    /// <param name="mask">[batch, 1, seq, seq] bool, true = query may attend to key; every query row needs one true.</param>
    /// <returns>[batch, seq, vocab] logits in the model dtype.</returns>
    public Tensor ForwardPacked(Tensor inputIds, Tensor positions, Tensor mask)
    {
        var maxPosition = positions.max().item<long>();
        var (cos, sin) = _rotary.ForPositions(positions, maxPosition);                 // [batch, 1, seq, head_dim]
        var inputs = new AttentionInputs { Cos = cos, Sin = sin, Mask = mask };
        var hidden = _model.forward(inputIds, inputs);                                  // [batch, seq, hidden]
        return Logits(hidden);                                                          // [batch, seq, vocab]
    }

    /// <summary>
    /// Incremental forward with a KV cache. Row <c>b</c> of <paramref name="inputIds"/> holds <c>lengths[b]</c> new
    /// tokens (right-padded to <c>seq</c>) that continue a sequence whose first <c>startPositions[b]</c> tokens are
    /// already cached in cache row <c>b</c>. Keys and values of the new tokens are written to the cache.
    /// </summary>
    /// <param name="inputIds">[batch, seq] int64</param>
    /// <param name="cache">Cache whose rows <c>firstCacheRow .. firstCacheRow + batch - 1</c> belong to the rows of <paramref name="inputIds"/>.</param>
    /// <param name="startPositions">Per row, the number of tokens already cached.</param>
    /// <param name="lengths">Per row, the number of real (non-padding) tokens in <paramref name="inputIds"/>, at least 1.</param>
    /// <param name="firstCacheRow">Cache row of the first batch row.</param>
    /// <returns>[batch, vocab] logits of the last real token of each row.</returns>
    public Tensor ForwardCached(Tensor inputIds, KvCache cache, IReadOnlyList<long> startPositions, IReadOnlyList<long> lengths, long firstCacheRow = 0)
    {
        var batch = inputIds.size(0);
        var seq = inputIds.size(1);
        long maxStart = 0;
        long keyLength = 0;
        for (var row = 0; row < batch; row++)
        {
            maxStart = Math.Max(maxStart, startPositions[row]);
            keyLength = Math.Max(keyLength, startPositions[row] + lengths[row]);
        }

        cache.EnsureCapacity(firstCacheRow + batch, maxStart + seq);
        if (_cpuDecoder is { } decoder && !is_grad_enabled() && (BatchInvariant || (seq == 1 && batch <= CpuDecodeMaxBatch)))
        {
            // On an f32 CPU model: small decoding steps (one token per row), or every call when batch-invariant, in managed code.
            return ManagedForward(decoder, inputIds, cache, startPositions, lengths, firstCacheRow, keyLength);   // [batch, vocab]
        }

        var uniform = true;
        for (var row = 0; row < batch; row++)
        {
            uniform &= startPositions[row] == maxStart && lengths[row] == seq;
        }

        if (uniform && (seq == 1 || maxStart == 0))
        {
            // Every row has the same positions and no padding: no mask (decode) or plain causal (prefill), slice writes.
            var (uniformCos, uniformSin) = _rotary.ForRange(maxStart + seq);                                // [1, 1, start + seq, head_dim]
            var uniformInputs = new AttentionInputs
            {
                Cos = uniformCos.narrow(2, maxStart, seq),                                                    // [1, 1, seq, head_dim]
                Sin = uniformSin.narrow(2, maxStart, seq),                                                    // [1, 1, seq, head_dim]
                Cache = cache,
                FirstCacheRow = firstCacheRow,
                UniformStart = maxStart,
                KeyLength = keyLength,
            };
            var uniformHidden = _model.forward(inputIds, uniformInputs);                                      // [batch, seq, hidden]
            return Logits(uniformHidden.select(1, seq - 1));                                                  // [batch, vocab]
        }

        var starts = tensor(startPositions.ToArray(), device: Device).view(batch, 1);                    // [batch, 1]
        var lastOffsets = tensor(lengths.ToArray(), device: Device).sub(Scalars.One).view(batch, 1);               // [batch, 1]
        var offsets = arange(seq, dtype: ScalarType.Int64, device: Device).view(1, seq);                 // [1, seq]
        var positions = starts.add(offsets, Scalars.One);                                                               // [batch, seq]
        var (cos, sin) = _rotary.ForPositions(positions, maxStart + seq - 1);                             // [batch, 1, seq, head_dim]
        // Query i of row b sees keys 0 .. start + min(i, length - 1); padded queries repeat the last real one.
        var queryPositions = starts.add(minimum(offsets, lastOffsets), Scalars.One);                                    // [batch, seq]
        var keys = arange(keyLength, dtype: ScalarType.Int64, device: Device).view(1, 1, keyLength);     // [1, 1, keys]
        var mask = keys.le(queryPositions.unsqueeze(-1)).unsqueeze(1);                                    // [batch, 1, seq, keys]
        var inputs = new AttentionInputs
        {
            Cos = cos,
            Sin = sin,
            Mask = mask,
            Cache = cache,
            FirstCacheRow = firstCacheRow,
            WritePositions = positions.view(batch, 1, seq, 1),                                              // [batch, 1, seq, 1]
            KeyLength = keyLength,
        };
        var hidden = _model.forward(inputIds, inputs);                                                     // [batch, seq, hidden]
        Tensor last;                                                                                       // [batch, hidden]
        if (seq == 1)
        {
            last = hidden.squeeze(1);                                                                      // [batch, hidden]
        }
        else
        {
            var gatherIndex = lastOffsets.view(batch, 1, 1).expand(batch, 1, hidden.size(2));             // [batch, 1, hidden]
            last = hidden.gather(1, gatherIndex).squeeze(1);                                               // [batch, hidden]
        }

        return Logits(last);                                                                               // [batch, vocab]
    }

    /// <summary>
    /// Every cached forward — prompts, decoding steps of any batch, the recomputation after a weight swap — as the managed
    /// decoder's token rows, the prompt's tokens in order with logits for the last one (see <see cref="CpuDecoder"/>).
    /// </summary>
    private Tensor ManagedForward(CpuDecoder decoder, Tensor inputIds, KvCache cache, IReadOnlyList<long> startPositions, IReadOnlyList<long> lengths, long firstCacheRow, long keyLength)
    {
        var batch = (int)inputIds.size(0);
        var seq = (int)inputIds.size(1);
        var padded = inputIds.data<long>().ToArray();                                                     // batch × seq
        var tokens = 0;
        for (var row = 0; row < batch; row++)
        {
            tokens += (int)lengths[row];
        }

        var ids = new long[tokens];
        var positions = new long[tokens];
        var cacheRows = new long[tokens];
        var logitRows = new int[tokens];
        var k = 0;
        for (var row = 0; row < batch; row++)
        {
            for (var t = 0; t < lengths[row]; t++, k++)
            {
                ids[k] = padded[(row * seq) + t];
                positions[k] = startPositions[row] + t;
                cacheRows[k] = firstCacheRow + row;
                logitRows[k] = t == lengths[row] - 1 ? row : -1;
            }
        }

        var (cos, sin) = _rotary.Tables(keyLength);                                                        // [capacity, head_dim]
        return decoder.Forward(ids, positions, cacheRows, logitRows, batch, cache, cos, sin, CpuDecodeThreads);   // [batch, vocab]
    }

    /// <summary>
    /// Batch-invariant generation (default off): on a fused f32 CPU model outside autograd, <see cref="ForwardCached"/>
    /// computes every call in managed code — prompts included, whatever the batch size — so a sequence's keys, values and
    /// logits are the same bits whatever other rows share its calls, where its row sits, how many threads split the call,
    /// and whether a prefix came from the prefix cache or was computed afresh. Torch's matrix products pick their blocking
    /// by shape, which changes the summation order with the batch; this avoids them. Without a managed decoder
    /// (<see cref="HasCpuDecoder"/> false: another device or dtype) it has no effect.
    /// </summary>
    public bool BatchInvariant { get; set; }

    /// <summary>
    /// Switches the attention blocks to one fused q/k/v projection (fewer, larger matmuls when decoding). The fused
    /// copy does not follow later weight changes: call again after changing weights, or <see cref="Unfuse"/> before training.
    /// </summary>
    public void FuseForInference()
    {
        foreach (var layer in _model.Layers)
        {
            layer.Attention.Fuse();
        }

        IsFused = true;
        var layers = _model.Layers.Select(layer => layer.DecoderWeights()!).ToArray();
        _cpuDecoder = CpuDecoder.TryCreate(Config, _model.EmbeddingWeight, _model.NormWeight, _lmHead?.weight ?? _model.EmbeddingWeight, layers);
    }

    /// <summary>
    /// Largest batch of one-token-per-row decoding steps that <see cref="ForwardCached"/> computes in managed code
    /// instead of through torch (default 0: always torch). Takes effect on a fused f32 CPU model
    /// (<see cref="FuseForInference"/>) outside autograd; <see cref="Generation.InferenceEngine"/> sets it from its options.
    /// </summary>
    public int CpuDecodeMaxBatch { get; set; }

    /// <summary>Most threads a managed decoding step splits its rows over (default 1), each taking at least 8 rows.</summary>
    public int CpuDecodeThreads { get; set; } = 1;

    /// <summary>Whether small decoding steps can run in managed code (fused f32 CPU model).</summary>
    public bool HasCpuDecoder => _cpuDecoder is not null;

    /// <summary>Back to the separate q/k/v projections (the trainable parameters).</summary>
    public void Unfuse()
    {
        foreach (var layer in _model.Layers)
        {
            layer.Attention.Unfuse();
        }

        IsFused = false;
        _cpuDecoder = null;
    }

    public bool IsFused { get; private set; }

    /// <summary>Projects final hidden states onto the vocabulary (tied or untied head).</summary>
    /// <param name="hidden">[..., hidden]</param>
    /// <returns>[..., vocab]</returns>
    public Tensor Logits(Tensor hidden) =>
        _lmHead is null ? nn.functional.linear(hidden, _model.EmbeddingWeight) : _lmHead.forward(hidden);   // [..., vocab]

    /// <summary>
    /// Random initialisation as in transformers (<c>normal(0, std)</c> for linear and embedding weights, zero
    /// biases, unit norms). A larger <paramref name="std"/> gives a peakier random model, useful in tests.
    /// </summary>
    public void InitializeWeights(double std = 0.02, long? seed = null)
    {
        using var noGrad = no_grad();
        using var generator = seed is { } s ? new Generator((ulong)s) : null;
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(1.0);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                parameter.normal_(0.0, std, generator);
            }
        }

        if (IsFused)
        {
            FuseForInference();
        }
    }

    /// <summary>Copies tensors into the parameters of the same names (Hugging Face keys), under no_grad.</summary>
    /// <exception cref="ArgumentException">A parameter is missing or a shape differs; nothing is copied then.</exception>
    /// <summary>Whether this model computes on <paramref name="target"/>'s device in its dtype.</summary>
    public bool IsOn(ComputeTarget target) =>
        Device.type == target.DeviceType && (target.DeviceType != DeviceType.CUDA || Device.index == target.DeviceIndex) && DType == target.DType;

    /// <summary>
    /// A new model of this configuration on <paramref name="target"/> (device and dtype) holding this model's weights,
    /// converted as they are copied; this model is unchanged. Weights move between devices and dtypes only this way, so
    /// every buffer (rotary tables, fused projections) is built for the target.
    /// </summary>
    public CausalLanguageModel CopyTo(ComputeTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var copy = new CausalLanguageModel(Config, target.Device, target.DType);
        try
        {
            copy.LoadParameters(named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
            if (!training)
            {
                copy.eval();
            }
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary><see cref="CopyTo"/>, then disposes this model: for the build-on-CPU-then-place step of a new model.</summary>
    public CausalLanguageModel MoveTo(ComputeTarget target)
    {
        var moved = CopyTo(target);
        Dispose();
        return moved;
    }

    public void LoadParameters(IReadOnlyDictionary<string, Tensor> weights)
    {
        var parameters = named_parameters().ToList();
        foreach (var (name, parameter) in parameters)
        {
            if (!weights.TryGetValue(name, out var source))
            {
                throw new ArgumentException($"Weights have no tensor named '{name}'.", nameof(weights));
            }

            if (!source.shape.SequenceEqual(parameter.shape))
            {
                throw new ArgumentException(
                    $"Tensor '{name}' has shape [{string.Join(", ", source.shape)}], the model expects [{string.Join(", ", parameter.shape)}].",
                    nameof(weights));
            }
        }

        using var noGrad = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            parameter.copy_(weights[name]);
        }

        if (IsFused)
        {
            FuseForInference();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rotary.Dispose();
        }

        base.Dispose(disposing);
    }
}
