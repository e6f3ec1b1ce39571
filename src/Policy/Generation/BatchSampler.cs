using AgentRl.Policy.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AgentRl.Policy.Generation;

/// <summary>
/// Samples one token per row from a batch of logits, entirely in torch, and copies back only the picks: per row the
/// token, its log-prob and the entropy of the sampling distribution (temperature, then top-k, then top-p), plus the
/// top log-probs when asked. Randomness comes in as one uniform number per row (inverse-CDF sampling), drawn from
/// the request's own generator, so a row's sample does not depend on the other rows.
/// </summary>
public static class BatchSampler
{
    /// <param name="logits">[batch, vocab] any float dtype.</param>
    /// <param name="rows">One entry per batch row.</param>
    public static SampledToken[] Sample(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        if (logits.device_type == DeviceType.CPU && logits.dtype == ScalarType.Float32 && logits.is_contiguous())
        {
            return CpuSampler.Sample(logits, rows);
        }

        return SampleWithTorch(logits, rows);
    }

    /// <summary>The torch path (any device and dtype); CPU f32 logits take <see cref="CpuSampler"/>, which computes the same.</summary>
    internal static SampledToken[] SampleWithTorch(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        using var scope = NewDisposeScope();
        var batch = rows.Count;
        var vocab = logits.size(1);
        var device = logits.device;
        var temperatures = new float[batch];
        var uniforms = new float[batch];
        var greedy = new bool[batch];
        var filter = false;
        var anyGreedy = false;
        var allGreedy = true;
        var unitTemperature = true;
        var topLogProbs = 0;
        for (var row = 0; row < batch; row++)
        {
            var r = rows[row];
            greedy[row] = r.Temperature <= 0;
            temperatures[row] = r.Temperature <= 0 ? 1f : (float)r.Temperature;
            uniforms[row] = (float)r.Uniform;
            anyGreedy |= greedy[row];
            allGreedy &= greedy[row];
            unitTemperature &= temperatures[row] == 1f;
            filter |= (r.TopK > 0 && r.TopK < vocab) || r.TopP < 1.0;
            topLogProbs = Math.Max(topLogProbs, Math.Min(r.TopLogProbs, (int)vocab));
        }

        // Each shortcut below only skips work whose result is known (unit temperatures, no greedy rows, no filters).
        var scaled = logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32);            // [batch, vocab]
        if (!unitTemperature)
        {
            scaled = scaled.div(tensor(temperatures, device: device).view(batch, 1));                              // [batch, vocab]
        }

        Tensor logProbs;     // [batch, vocab] log-probs of the sampling distribution (in sorted order when sorted)
        Tensor? order = null;   // [batch, vocab] token id of each sorted position
        Tensor entropy;      // [batch, 1]
        Tensor? greedyPick = null;   // [batch, 1], only when some row is greedy
        if (filter || topLogProbs > 0)
        {
            var sorted = scaled.sort(dim: -1, descending: true);
            order = sorted.Indices;                                                                     // [batch, vocab]
            var sortedLogits = sorted.Values;                                                           // [batch, vocab]
            if (filter)
            {
                var topK = new long[batch];
                var topP = new float[batch];
                for (var row = 0; row < batch; row++)
                {
                    topK[row] = rows[row].TopK > 0 ? rows[row].TopK : vocab;
                    topP[row] = rows[row].TopP < 1.0 ? (float)rows[row].TopP : 2f;
                }

                var ranks = arange(vocab, dtype: ScalarType.Int64, device: device).view(1, vocab);   // [1, vocab]
                var keep = ranks.lt(tensor(topK, device: device).view(batch, 1));                    // [batch, vocab]
                var probs = sortedLogits.softmax(-1);                                                // [batch, vocab]
                var before = probs.cumsum(-1).sub(probs);                                            // [batch, vocab] mass of more likely tokens
                keep = keep.logical_and(before.lt(tensor(topP, device: device).view(batch, 1)));     // [batch, vocab]
                sortedLogits = sortedLogits.masked_fill(keep.logical_not(), Scalars.NegativeInfinity);   // [batch, vocab]
            }

            logProbs = sortedLogits.log_softmax(-1);                                                    // [batch, vocab]
            if (anyGreedy)
            {
                greedyPick = zeros([batch, 1], dtype: ScalarType.Int64, device: device);               // [batch, 1]
            }
        }
        else
        {
            logProbs = scaled.log_softmax(-1);                                                          // [batch, vocab]
            if (anyGreedy)
            {
                greedyPick = scaled.argmax(-1, keepdim: true);                                          // [batch, 1]
            }
        }

        var p = logProbs.exp();                                                                         // [batch, vocab]
        var finiteLogProbs = filter ? logProbs.nan_to_num(0.0, 0.0, 0.0) : logProbs;                    // [batch, vocab] filtered tokens contribute 0
        entropy = p.mul(finiteLogProbs).sum(-1, keepdim: true).neg();                                   // [batch, 1]
        Tensor pick;                                                                                    // [batch, 1]
        if (allGreedy)
        {
            pick = greedyPick!;
        }
        else
        {
            var cdf = p.cumsum(-1);                                                                     // [batch, vocab]
            var uniform = tensor(uniforms, device: device).view(batch, 1);                              // [batch, 1]
            var target = uniform.mul(cdf.narrow(1, vocab - 1, 1));                                      // [batch, 1]
            pick = searchsorted(cdf, target, right: true).clamp_max(vocab - 1);                         // [batch, 1]
            if (anyGreedy)
            {
                pick = where(tensor(greedy, device: device).view(batch, 1), greedyPick!, pick);        // [batch, 1]
            }
        }

        var pickLogProb = logProbs.gather(1, pick);                                                     // [batch, 1]
        var tokenIds = order is null ? pick : order.gather(1, pick);                                    // [batch, 1]
        var ids = tokenIds.cpu().data<long>().ToArray();
        var values = cat([pickLogProb, entropy], 1).cpu().data<float>().ToArray();                     // [batch, 2]

        float[]? topValues = null;
        long[]? topIds = null;
        if (topLogProbs > 0)
        {
            topValues = logProbs.narrow(1, 0, topLogProbs).cpu().data<float>().ToArray();   // batch × k
            topIds = order!.narrow(1, 0, topLogProbs).cpu().data<long>().ToArray();         // batch × k
        }

        var result = new SampledToken[batch];
        for (var row = 0; row < batch; row++)
        {
            TokenLogProb[]? top = null;
            var k = Math.Min(rows[row].TopLogProbs, topLogProbs);
            if (k > 0)
            {
                top = new TokenLogProb[k];
                for (var i = 0; i < k; i++)
                {
                    top[i] = new TokenLogProb((int)topIds![(row * topLogProbs) + i], topValues![(row * topLogProbs) + i]);
                }
            }

            result[row] = new SampledToken((int)ids[row], values[row * 2], values[(row * 2) + 1], top);
        }

        return result;
    }
}
