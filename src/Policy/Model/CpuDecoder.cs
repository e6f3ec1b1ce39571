using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>
/// Forward passes of an f32 CPU model (decoding steps, and prompts token by token) computed in managed code, straight on the memory of
/// the model's parameters, rotary tables and KV cache. Decoding a small batch through torch is a few hundred tiny ops
/// per token, each paying a native call and a tensor object; here a step is a handful of loops, so small batches run
/// several times faster. The arithmetic is that of the torch forward (same weights, same rotary tables, same cache
/// layout, keys and values written to the same cache), in a different summation order: logits agree within 1e-4.
/// Large batches go through torch, whose matrix products win there (<see cref="CausalLanguageModel.CpuDecodeMaxBatch"/>).
/// </summary>
/// <remarks>
/// Batch invariance: every number a token gets — its keys and values, its logits — is computed by the same loops in the
/// same order whatever else is in the call. A dot product is two vector accumulators over the row, then the scalar tail,
/// whether its row goes alone or with three others; element-wise functions run per row; threads split the rows, never a
/// sum. So a token's results do not depend on the other rows, on where its row sits in the batch, on how many threads
/// share the call, or on whether it came as a prompt token (<see cref="Forward"/> with several tokens of one sequence)
/// or as a decoded one. <see cref="CausalLanguageModel.BatchInvariant"/> routes every cached forward here for that reason.
/// </remarks>
internal sealed unsafe class CpuDecoder
{
    private readonly Tensor _embedding;     // [vocab, hidden]
    private readonly Tensor _finalNorm;     // [hidden]
    private readonly Tensor _head;          // [vocab, hidden] (the embedding when tied)
    private readonly LayerWeights[] _layers;
    private readonly int _hidden;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _intermediate;
    private readonly int _vocab;
    private readonly float _eps;

    private CpuDecoder(ModelConfig config, Tensor embedding, Tensor finalNorm, Tensor head, LayerWeights[] layers)
    {
        _embedding = embedding;
        _finalNorm = finalNorm;
        _head = head;
        _layers = layers;
        _hidden = config.HiddenSize;
        _heads = config.NumAttentionHeads;
        _kvHeads = (int)config.KeyValueHeads;
        _headDim = (int)config.HeadDim;
        _intermediate = config.IntermediateSize;
        _vocab = config.VocabSize;
        _eps = (float)config.RmsNormEps;
    }

    /// <summary>The weights one layer reads: fused q/k/v projection (and bias), output projection, norms and MLP.</summary>
    internal sealed record LayerWeights(Tensor InputNorm, Tensor Qkv, Tensor? QkvBias, Tensor Output, Tensor PostNorm, Tensor Gate, Tensor Up, Tensor Down);

    /// <summary>A decoder over <paramref name="layers"/>, or null when the tensors are not contiguous f32 CPU tensors.</summary>
    internal static CpuDecoder? TryCreate(ModelConfig config, Tensor embedding, Tensor finalNorm, Tensor head, LayerWeights[] layers)
    {
        var all = new List<Tensor> { embedding, finalNorm, head };
        foreach (var layer in layers)
        {
            all.AddRange([layer.InputNorm, layer.Qkv, layer.Output, layer.PostNorm, layer.Gate, layer.Up, layer.Down]);
            if (layer.QkvBias is { } bias)
            {
                all.Add(bias);
            }
        }

        return all.All(Usable) && config.HeadDim % 2 == 0 ? new CpuDecoder(config, embedding, finalNorm, head, layers) : null;
    }

    internal static bool Usable(Tensor tensor) =>
        tensor.device_type == DeviceType.CPU && tensor.dtype == ScalarType.Float32 && tensor.is_contiguous();

    /// <summary>
    /// Tokens of one or more sequences through the stack: token <c>b</c> is <paramref name="ids"/>[b] at position
    /// <paramref name="positions"/>[b] of cache row <paramref name="cacheRows"/>[b], whose earlier positions are cached or
    /// come earlier in this call (tokens of one cache row in increasing positions, one after the other). Keys and values of
    /// every token are written to the cache; logits are computed for the tokens with <paramref name="logitRows"/>[b] ≥ 0,
    /// into that row of the result. A prompt (a prefill) is its tokens in order, with logits for the last one only.
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="positions">Position of each token in its sequence.</param>
    /// <param name="cacheRows">Cache row of each token's sequence.</param>
    /// <param name="logitRows">Per token, the row of the result that gets its logits, or −1 for none.</param>
    /// <param name="logitCount">Rows of the result.</param>
    /// <param name="cache">The KV cache, with capacity for every row and position.</param>
    /// <param name="cos">[capacity, head_dim] rotary cosine table covering every position.</param>
    /// <param name="sin">[capacity, head_dim] rotary sine table.</param>
    /// <param name="threads">Most threads to split the sequences over (a sequence stays on one thread).</param>
    /// <returns>[logitCount, vocab] f32 logits (a new tensor, registered on the current dispose scope).</returns>
    public Tensor Forward(long[] ids, long[] positions, long[] cacheRows, int[] logitRows, int logitCount, KvCache cache, Tensor cos, Tensor sin, int threads)
    {
        var batch = ids.Length;
        if (positions.Length != batch || cacheRows.Length != batch || logitRows.Length != batch)
        {
            throw new ArgumentException("ids, positions, cacheRows and logitRows need one entry per token.");
        }

        for (var b = 0; b < batch; b++)
        {
            if ((ulong)ids[b] >= (ulong)_vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {ids[b]} is outside the vocabulary of {_vocab}.");
            }

            if ((ulong)cacheRows[b] >= (ulong)cache.RowCapacity || (ulong)positions[b] >= (ulong)Math.Min(cache.LengthCapacity, cos.size(0)))
            {
                throw new ArgumentOutOfRangeException(nameof(positions), $"Token {b} (cache row {cacheRows[b]}, position {positions[b]}) is outside the cache or the rotary tables.");
            }

            if (logitRows[b] >= logitCount)
            {
                throw new ArgumentOutOfRangeException(nameof(logitRows), $"Logit row {logitRows[b]} is outside the {logitCount} result rows.");
            }
        }

        var layers = new LayerPointers[_layers.Length];
        for (var layer = 0; layer < layers.Length; layer++)
        {
            var weights = _layers[layer];
            var (keys, values) = cache.Storage(layer);
            layers[layer] = new LayerPointers(
                (nint)Data(weights.InputNorm), (nint)Data(weights.Qkv), weights.QkvBias is { } bias ? (nint)Data(bias) : 0,
                (nint)Data(weights.Output), (nint)Data(weights.PostNorm), (nint)Data(weights.Gate), (nint)Data(weights.Up),
                (nint)Data(weights.Down), (nint)Data(keys), (nint)Data(values));
        }

        var logits = empty([logitCount, _vocab], dtype: ScalarType.Float32);   // [logitCount, vocab]
        var frame = new Frame(layers, (nint)Data(_embedding), (nint)Data(_finalNorm), (nint)Data(_head), (nint)Data(cos), (nint)Data(sin),
            (nint)Data(logits), cache.LengthCapacity, ids, positions, cacheRows, logitRows);
        var blocks = Blocks(cacheRows, threads);
        if (blocks.Count <= 2)
        {
            Rows(frame, 0, batch);
        }
        else
        {
            Parallel.For(0, blocks.Count - 1, new ParallelOptions { MaxDegreeOfParallelism = blocks.Count - 1 }, block =>
                Rows(frame, blocks[block], blocks[block + 1] - blocks[block]));
        }

        return logits;
    }

    /// <summary>
    /// Block boundaries (first row of each block, then the row count) for at most <paramref name="threads"/> blocks of at
    /// least <see cref="MinRowsPerThread"/> rows: whole groups of four rows where it can (the matrix products' unit), and
    /// never between two tokens of one cache row, whose attention reads what the earlier one wrote.
    /// </summary>
    internal static List<int> Blocks(long[] cacheRows, int threads)
    {
        var batch = cacheRows.Length;
        var wanted = Math.Max(1, Math.Min(threads, batch / MinRowsPerThread));
        var bounds = new List<int> { 0 };
        var groups = (batch + 3) / 4;
        for (var block = 1; block < wanted; block++)
        {
            var cut = Math.Min(batch, groups * block / wanted * 4);
            while (cut < batch && cut > 0 && cacheRows[cut] == cacheRows[cut - 1])
            {
                cut++;
            }

            if (cut > bounds[^1] && cut < batch)
            {
                bounds.Add(cut);
            }
        }

        bounds.Add(batch);
        return bounds;
    }

    /// <summary>Fewest rows worth a thread of their own.</summary>
    internal const int MinRowsPerThread = 8;

    private sealed record LayerPointers(nint InputNorm, nint Qkv, nint QkvBias, nint Output, nint PostNorm, nint Gate, nint Up, nint Down, nint Keys, nint Values);

    private sealed record Frame(LayerPointers[] Layers, nint Embedding, nint FinalNorm, nint Head, nint Cos, nint Sin, nint Logits, long Capacity, long[] Ids, long[] Positions, long[] CacheRows, int[] LogitRows);

    /// <summary>Rows <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1 of one step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows(Frame frame, int first, int count)
    {
        if (count == 0)
        {
            return;
        }

        var qkvWidth = (_heads + (2 * _kvHeads)) * _headDim;
        var hidden = new float[count * _hidden];
        var normed = new float[count * _hidden];
        var qkv = new float[count * qkvWidth];
        var attended = new float[count * _heads * _headDim];
        var gate = new float[count * _intermediate];
        var up = new float[count * _intermediate];
        var maxKeys = 0L;
        for (var b = 0; b < count; b++)
        {
            maxKeys = Math.Max(maxKeys, frame.Positions[first + b] + 1);
        }

        var scores = new float[_heads / _kvHeads * maxKeys];
        var embedding = (float*)frame.Embedding;
        for (var b = 0; b < count; b++)
        {
            new ReadOnlySpan<float>(embedding + (frame.Ids[first + b] * _hidden), _hidden).CopyTo(hidden.AsSpan(b * _hidden, _hidden));
        }

        var cosTable = (float*)frame.Cos;
        var sinTable = (float*)frame.Sin;
        var capacity = frame.Capacity;
        fixed (float* h = hidden, n = normed, q = qkv, a = attended, g = gate, u = up, s = scores)
        {
            foreach (var weights in frame.Layers)
            {
                RmsNorm(h, (float*)weights.InputNorm, n, count);
                MatMul((float*)weights.Qkv, (float*)weights.QkvBias, n, _hidden, q, qkvWidth, count);
                var keys = (float*)weights.Keys;       // [rows, kv_heads, capacity, head_dim]
                var values = (float*)weights.Values;   // [rows, kv_heads, capacity, head_dim]
                for (var b = 0; b < count; b++)
                {
                    var position = frame.Positions[first + b];
                    var row = q + (b * qkvWidth);
                    for (var head = 0; head < _heads + _kvHeads; head++)
                    {
                        Rotate(row + (head * _headDim), cosTable + (position * _headDim), sinTable + (position * _headDim));
                    }

                    var cacheRow = frame.CacheRows[first + b];
                    for (var kv = 0; kv < _kvHeads; kv++)
                    {
                        var offset = (((cacheRow * _kvHeads) + kv) * capacity * _headDim) + (position * _headDim);
                        new ReadOnlySpan<float>(row + ((_heads + kv) * _headDim), _headDim).CopyTo(new Span<float>(keys + offset, _headDim));
                        new ReadOnlySpan<float>(row + ((_heads + _kvHeads + kv) * _headDim), _headDim).CopyTo(new Span<float>(values + offset, _headDim));
                    }

                    Attend(row, keys, values, cacheRow, capacity, position + 1, a + (b * _heads * _headDim), s);
                }

                MatMulAdd((float*)weights.Output, a, _heads * _headDim, h, _hidden, count);
                RmsNorm(h, (float*)weights.PostNorm, n, count);
                MatMul((float*)weights.Gate, null, n, _hidden, g, _intermediate, count);
                MatMul((float*)weights.Up, null, n, _hidden, u, _intermediate, count);
                for (var b = 0; b < count; b++)
                {
                    SwiGlu(g + ((long)b * _intermediate), u + ((long)b * _intermediate), _intermediate);   // per row: its vector tail does not depend on the batch
                }

                MatMulAdd((float*)weights.Down, g, _intermediate, h, _hidden, count);
            }

            Head(frame, first, count, h, n);
        }
    }

    /// <summary>Final norm and vocabulary projection of the block's tokens that want logits, straight into their result rows.</summary>
    private void Head(Frame frame, int first, int count, float* hidden, float* normed)
    {
        var wanted = 0;
        var target = -1;
        var consecutive = true;
        for (var b = 0; b < count; b++)
        {
            var row = frame.LogitRows[first + b];
            if (row < 0)
            {
                continue;
            }

            new ReadOnlySpan<float>(hidden + ((long)b * _hidden), _hidden).CopyTo(new Span<float>(hidden + ((long)wanted * _hidden), _hidden));
            consecutive &= target < 0 || row == target + wanted;
            target = target < 0 ? row : target;
            wanted++;
        }

        if (wanted == 0)
        {
            return;
        }

        RmsNorm(hidden, (float*)frame.FinalNorm, normed, wanted);
        var logits = (float*)frame.Logits;
        if (consecutive)
        {
            MatMul((float*)frame.Head, null, normed, _hidden, logits + ((long)target * _vocab), _vocab, wanted);
            return;
        }

        var scratch = new float[(long)wanted * _vocab];
        fixed (float* output = scratch)
        {
            MatMul((float*)frame.Head, null, normed, _hidden, output, _vocab, wanted);
            var k = 0;
            for (var b = 0; b < count; b++)
            {
                if (frame.LogitRows[first + b] is var row and >= 0)
                {
                    new ReadOnlySpan<float>(output + ((long)k++ * _vocab), _vocab).CopyTo(new Span<float>(logits + ((long)row * _vocab), _vocab));
                }
            }
        }
    }

    /// <summary>Largest tensor, in bytes, addressed through one span (int.MaxValue); tests lower it to take the other way.</summary>
    internal static long SpanBytesLimit { get; set; } = int.MaxValue;

    /// <summary>The address of a contiguous CPU tensor's first element.</summary>
    private static float* Data(Tensor tensor)
    {
        if (tensor.numel() * sizeof(float) <= SpanBytesLimit)
        {
            return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
        }

        // A span over native memory stops at 2 GiB (a large vocabulary's embedding, a long cache): take the first element's.
        using var flat = tensor.view(-1);
        using var first = flat.narrow(0, 0, 1);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }

    /// <summary>out[b] = x[b] / sqrt(mean(x[b]²) + eps) · weight, row by row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RmsNorm(float* x, float* weight, float* output, int batch)
    {
        for (var b = 0; b < batch; b++)
        {
            var row = x + (b * _hidden);
            var sum = Dot(row, row, _hidden);
            var inverse = 1f / MathF.Sqrt((sum / _hidden) + _eps);
            var target = output + (b * _hidden);
            for (var i = 0; i < _hidden; i++)
            {
                target[i] = row[i] * inverse * weight[i];
            }
        }
    }

    /// <summary>In place: x·cos + rotate_half(x)·sin for one head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rotate(float* x, float* cos, float* sin)
    {
        var half = _headDim / 2;
        for (var i = 0; i < half; i++)
        {
            var first = x[i];
            var second = x[i + half];
            x[i] = (first * cos[i]) - (second * sin[i]);
            x[i + half] = (second * cos[i + half]) + (first * sin[i + half]);
        }
    }

    /// <summary>
    /// Grouped-query attention of one row's query heads over its first <paramref name="length"/> cached positions. The
    /// query heads of a group go together, so each cached key and value is read once per group.
    /// </summary>
    /// <param name="queries">The row's rotated query heads, <c>[heads, head_dim]</c>.</param>
    /// <param name="keys">Layer key cache <c>[rows, kv_heads, capacity, head_dim]</c>.</param>
    /// <param name="values">Layer value cache, same layout.</param>
    /// <param name="cacheRow">The row's cache row.</param>
    /// <param name="capacity">Positions per cache row.</param>
    /// <param name="length">Positions to attend to (including the new token's).</param>
    /// <param name="output">The row's attended heads, <c>[heads, head_dim]</c>.</param>
    /// <param name="scores">Room for <c>groups × length</c> floats.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend(float* queries, float* keys, float* values, long cacheRow, long capacity, long length, float* output, float* scores)
    {
        var scale = 1f / MathF.Sqrt(_headDim);
        var groups = _heads / _kvHeads;
        var width = Vector<float>.Count;
        var vectorEnd = _headDim - (_headDim % width);
        for (var kv = 0; kv < _kvHeads; kv++)
        {
            var keyBase = keys + (((cacheRow * _kvHeads) + kv) * capacity * _headDim);
            var valueBase = values + (((cacheRow * _kvHeads) + kv) * capacity * _headDim);
            for (var g = 0; g < groups; g++)
            {
                var query = queries + (((kv * groups) + g) * _headDim);
                var row = scores + (g * length);
                for (var t = 0; t < length; t++)
                {
                    var key = keyBase + (t * _headDim);
                    var sum = Vector<float>.Zero;
                    var d = 0;
                    for (; d < vectorEnd; d += width)
                    {
                        sum = Vector.FusedMultiplyAdd(Vector.Load(query + d), Vector.Load(key + d), sum);
                    }

                    var score = Vector.Sum(sum);
                    for (; d < _headDim; d++)
                    {
                        score += query[d] * key[d];
                    }

                    row[t] = score * scale;
                }

                Softmax(row, (int)length);
            }

            var target = output + (kv * groups * _headDim);
            new Span<float>(target, groups * _headDim).Clear();
            for (var t = 0; t < length; t++)
            {
                var value = valueBase + (t * _headDim);
                for (var g = 0; g < groups; g++)
                {
                    var weight = scores[(g * length) + t];
                    var head = target + (g * _headDim);
                    var scaled = new Vector<float>(weight);
                    var d = 0;
                    for (; d < vectorEnd; d += width)
                    {
                        Vector.Store(Vector.FusedMultiplyAdd(scaled, Vector.Load(value + d), Vector.Load(head + d)), head + d);
                    }

                    for (; d < _headDim; d++)
                    {
                        head[d] += weight * value[d];
                    }
                }
            }
        }
    }

    /// <summary>In place: exp(x − max) / Σ exp(x − max).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Softmax(float* x, int length)
    {
        var values = new Span<float>(x, length);
        var inverse = 1f / VectorMath.ExpShifted(values, VectorMath.Max(values), values);
        var width = Vector<float>.Count;
        var scale = new Vector<float>(inverse);
        var t = 0;
        for (; t + width <= length; t += width)
        {
            Vector.Store(Vector.Load(x + t) * scale, x + t);
        }

        for (; t < length; t++)
        {
            x[t] *= inverse;
        }
    }

    /// <summary>In place: silu(gate) · up = gate / (1 + exp(−gate)) · up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SwiGlu(float* gate, float* up, int length)
    {
        var width = Vector<float>.Count;
        var i = 0;
        for (; i + width <= length; i += width)
        {
            var g = Vector.Load(gate + i);
            Vector.Store(g / (Vector<float>.One + Vector.Exp(-g)) * Vector.Load(up + i), gate + i);
        }

        for (; i < length; i++)
        {
            var g = gate[i];
            gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>y[b, j] = Σ_i w[j, i] · x[b, i] + bias[j].</summary>
    private static void MatMul(float* weight, float* bias, float* x, int inputs, float* y, int outputs, int batch) =>
        Product(weight, bias, x, inputs, y, outputs, batch, accumulate: false);

    /// <summary>y[b, j] += Σ_i w[j, i] · x[b, i] (residual connections).</summary>
    private static void MatMulAdd(float* weight, float* x, int inputs, float* y, int outputs, int batch) =>
        Product(weight, null, x, inputs, y, outputs, batch, accumulate: true);

    /// <summary>
    /// The matrix product behind <see cref="MatMul"/> and <see cref="MatMulAdd"/>. Weight rows are taken in tiles of
    /// about 16 KB that stay in L1 while every batch row passes by, four batch rows per weight row read, so the weights
    /// come from memory once per step whatever the batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product(float* weight, float* bias, float* x, int inputs, float* y, int outputs, int batch, bool accumulate)
    {
        var tile = Math.Max(1, 16384 / (inputs * sizeof(float)));
        for (var tileStart = 0; tileStart < outputs; tileStart += tile)
        {
            var tileEnd = Math.Min(outputs, tileStart + tile);
            var b = 0;
            for (; b + 4 <= batch; b += 4)
            {
                var input = x + ((long)b * inputs);
                var output = y + ((long)b * outputs);
                for (var j = tileStart; j < tileEnd; j++)
                {
                    Dot4(weight + ((long)j * inputs), input, inputs, out var s0, out var s1, out var s2, out var s3);
                    var offset = bias is null ? 0f : bias[j];
                    if (accumulate)
                    {
                        output[j] += s0;
                        output[outputs + j] += s1;
                        output[(2 * outputs) + j] += s2;
                        output[(3 * outputs) + j] += s3;
                    }
                    else
                    {
                        output[j] = s0 + offset;
                        output[outputs + j] = s1 + offset;
                        output[(2 * outputs) + j] = s2 + offset;
                        output[(3 * outputs) + j] = s3 + offset;
                    }
                }
            }

            for (; b < batch; b++)
            {
                var input = x + ((long)b * inputs);
                var output = y + ((long)b * outputs);
                for (var j = tileStart; j < tileEnd; j++)
                {
                    var sum = Dot(weight + ((long)j * inputs), input, inputs);
                    output[j] = accumulate ? output[j] + sum : sum + (bias is null ? 0f : bias[j]);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(float* a, float* b, int length)
    {
        var width = Vector<float>.Count;
        var i = 0;
        var sum0 = Vector<float>.Zero;
        var sum1 = Vector<float>.Zero;
        for (; i + (2 * width) <= length; i += 2 * width)
        {
            sum0 = Vector.FusedMultiplyAdd(Vector.Load(a + i), Vector.Load(b + i), sum0);
            sum1 = Vector.FusedMultiplyAdd(Vector.Load(a + i + width), Vector.Load(b + i + width), sum1);
        }

        for (; i + width <= length; i += width)
        {
            sum0 = Vector.FusedMultiplyAdd(Vector.Load(a + i), Vector.Load(b + i), sum0);
        }

        var sum = Vector.Sum(sum0 + sum1);
        for (; i < length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>
    /// Dots of one weight row with four consecutive input rows (stride <paramref name="length"/>): for each row the very
    /// operations of <see cref="Dot"/> in the same order (two accumulators, the odd vector into the first, their sum,
    /// the scalar tail), so a row's result does not depend on whether it went in a group of four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(float* w, float* x, int length, out float s0, out float s1, out float s2, out float s3)
    {
        var width = Vector<float>.Count;
        var x1 = x + length;
        var x2 = x + (2 * length);
        var x3 = x + (3 * length);
        Vector<float> a0 = Vector<float>.Zero, b0 = Vector<float>.Zero, a1 = Vector<float>.Zero, b1 = Vector<float>.Zero;
        Vector<float> a2 = Vector<float>.Zero, b2 = Vector<float>.Zero, a3 = Vector<float>.Zero, b3 = Vector<float>.Zero;
        var i = 0;
        for (; i + (2 * width) <= length; i += 2 * width)
        {
            var low = Vector.Load(w + i);
            var high = Vector.Load(w + i + width);
            a0 = Vector.FusedMultiplyAdd(low, Vector.Load(x + i), a0);
            b0 = Vector.FusedMultiplyAdd(high, Vector.Load(x + i + width), b0);
            a1 = Vector.FusedMultiplyAdd(low, Vector.Load(x1 + i), a1);
            b1 = Vector.FusedMultiplyAdd(high, Vector.Load(x1 + i + width), b1);
            a2 = Vector.FusedMultiplyAdd(low, Vector.Load(x2 + i), a2);
            b2 = Vector.FusedMultiplyAdd(high, Vector.Load(x2 + i + width), b2);
            a3 = Vector.FusedMultiplyAdd(low, Vector.Load(x3 + i), a3);
            b3 = Vector.FusedMultiplyAdd(high, Vector.Load(x3 + i + width), b3);
        }

        for (; i + width <= length; i += width)
        {
            var weights = Vector.Load(w + i);
            a0 = Vector.FusedMultiplyAdd(weights, Vector.Load(x + i), a0);
            a1 = Vector.FusedMultiplyAdd(weights, Vector.Load(x1 + i), a1);
            a2 = Vector.FusedMultiplyAdd(weights, Vector.Load(x2 + i), a2);
            a3 = Vector.FusedMultiplyAdd(weights, Vector.Load(x3 + i), a3);
        }

        s0 = Vector.Sum(a0 + b0);
        s1 = Vector.Sum(a1 + b1);
        s2 = Vector.Sum(a2 + b2);
        s3 = Vector.Sum(a3 + b3);
        for (; i < length; i++)
        {
            s0 += w[i] * x[i];
            s1 += w[i] * x1[i];
            s2 += w[i] * x2[i];
            s3 += w[i] * x3[i];
        }
    }
}
