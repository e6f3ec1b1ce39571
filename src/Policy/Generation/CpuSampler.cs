using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Generation;

/// <summary>
/// <see cref="BatchSampler"/> for f32 logits in CPU memory, row by row in managed code: the same distribution
/// (temperature, then top-k and top-p on the sorted logits, renormalised), the same inverse-CDF pick from the row's
/// uniform, the same log-prob, entropy and top log-probs, without the dozen torch ops per step that dominate sampling
/// a small model's logits.
/// </summary>
internal static unsafe class CpuSampler
{
    /// <param name="logits">[batch, vocab] contiguous f32 CPU tensor.</param>
    /// <param name="rows">One entry per batch row.</param>
    public static SampledToken[] Sample(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        var vocab = (int)logits.size(1);
        var data = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(logits.bytes));
        var result = new SampledToken[rows.Count];
        var scaled = new float[vocab];
        var logProbs = new float[vocab];
        int[]? order = null;
        for (var row = 0; row < rows.Count; row++)
        {
            result[row] = SampleRow(new ReadOnlySpan<float>(data + ((long)row * vocab), vocab), rows[row], scaled, logProbs, ref order);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static SampledToken SampleRow(ReadOnlySpan<float> logits, SamplingRow settings, float[] scaled, float[] logProbs, ref int[]? order)
    {
        var vocab = logits.Length;
        var greedy = settings.Temperature <= 0;
        var temperature = greedy ? 1f : (float)settings.Temperature;
        for (var i = 0; i < vocab; i++)
        {
            scaled[i] = temperature == 1f ? logits[i] : logits[i] / temperature;
        }

        var filter = (settings.TopK > 0 && settings.TopK < vocab) || settings.TopP < 1.0;
        var topLogProbs = Math.Min(settings.TopLogProbs, vocab);
        var sorted = filter || topLogProbs > 0;
        var greedyPick = 0;
        if (sorted)
        {
            // Descending by logit: an ascending sort of the negated logits, carrying the ids along.
            order ??= new int[vocab];
            var keys = new float[vocab];
            for (var i = 0; i < vocab; i++)
            {
                order[i] = i;
                keys[i] = -scaled[i];
            }

            Array.Sort(keys, order);
            for (var i = 0; i < vocab; i++)
            {
                scaled[i] = -keys[i];
            }

            if (filter)
            {
                // Keep rank < top-k and tokens whose more likely tokens hold less than top-p of the unfiltered mass.
                var topK = settings.TopK > 0 ? settings.TopK : vocab;
                var topP = settings.TopP < 1.0 ? (float)settings.TopP : 2f;
                LogSoftmax(scaled, logProbs, vocab);
                var before = 0f;
                for (var i = 0; i < vocab; i++)
                {
                    var probability = MathF.Exp(logProbs[i]);
                    if (i >= topK || before >= topP)
                    {
                        scaled[i] = float.NegativeInfinity;
                    }

                    before += probability;
                }
            }
        }
        else if (greedy)
        {
            for (var i = 1; i < vocab; i++)
            {
                if (scaled[i] > scaled[greedyPick])
                {
                    greedyPick = i;
                }
            }
        }

        LogSoftmax(scaled, logProbs, vocab);
        var probabilities = Exp(logProbs, vocab);
        var entropy = Entropy(probabilities, logProbs, vocab);
        var pick = greedyPick;
        if (!greedy)
        {
            // Inverse CDF, summed in order as torch's cumsum: the first token whose cumulative mass exceeds u · total.
            var total = 0f;
            for (var i = 0; i < vocab; i++)
            {
                total += probabilities[i];
            }

            var target = (float)settings.Uniform * total;
            var cumulative = 0f;
            pick = vocab - 1;
            for (var i = 0; i < vocab; i++)
            {
                cumulative += probabilities[i];
                if (cumulative > target)
                {
                    pick = i;
                    break;
                }
            }
        }

        TokenLogProb[]? top = null;
        if (topLogProbs > 0)
        {
            top = new TokenLogProb[topLogProbs];
            for (var i = 0; i < topLogProbs; i++)
            {
                top[i] = new TokenLogProb(order![i], logProbs[i]);
            }
        }

        var token = sorted ? order![pick] : pick;
        return new SampledToken(token, logProbs[pick], (float)entropy, top);
    }

    /// <summary>output = x − (max + log Σ exp(x − max)); −∞ stays −∞.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LogSoftmax(float[] x, float[] output, int length)
    {
        var values = x.AsSpan(0, length);
        var max = VectorMath.Max(values);
        var logTotal = max + MathF.Log(VectorMath.ExpShifted(values, max, output));
        var width = Vector<float>.Count;
        var offset = new Vector<float>(logTotal);
        var i = 0;
        for (; i + width <= length; i += width)
        {
            (new Vector<float>(x, i) - offset).CopyTo(output, i);
        }

        for (; i < length; i++)
        {
            output[i] = x[i] - logTotal;
        }
    }

    /// <summary>exp of each log-prob (0 for −∞).</summary>
    private static float[] Exp(float[] logProbs, int length)
    {
        var result = new float[length];
        VectorMath.ExpShifted(logProbs.AsSpan(0, length), 0f, result);
        return result;
    }

    /// <summary>−Σ p · log p over tokens with p &gt; 0 (filtered tokens, log p = −∞, contribute nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Entropy(float[] probabilities, float[] logProbs, int length)
    {
        var width = Vector<float>.Count;
        var floor = new Vector<float>(float.MinValue);   // p = 0 there, and 0 · MinValue = 0 where 0 · −∞ would be NaN
        var sums = Vector<float>.Zero;
        var i = 0;
        for (; i + width <= length; i += width)
        {
            sums += new Vector<float>(probabilities, i) * Vector.Max(new Vector<float>(logProbs, i), floor);
        }

        var sum = Vector.Sum(sums);
        for (; i < length; i++)
        {
            sum += probabilities[i] * MathF.Max(logProbs[i], float.MinValue);
        }

        return -sum;
    }
}
