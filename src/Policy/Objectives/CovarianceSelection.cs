using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>
/// Token selection of Clip-Cov and KL-Cov (docs/ALGORITHMS.md §6) on whatever batch is given. Call it once on the whole
/// mini-batch (logπ_θ without gradient: θ does not change between micro-batches of a mini-batch) and hand each
/// micro-batch its slice through <see cref="PolicyLossInput.CovSelection"/>: the top-k is then global, which is the
/// fix docs/ALGORITHMS.md §9 asks for (the reference selects per GPU micro-batch). Computed on managed arrays in double.
/// </summary>
public static class CovarianceSelection
{
    /// <summary>
    /// C_i = (A_i − mean_m A)·(logπ_θ,i − mean_m logπ_θ) over the valid tokens, [batch, seq] (0 on masked tokens).
    /// </summary>
    public static Tensor Covariance(Tensor logProb, Tensor advantages, Tensor mask)
    {
        var (a, l, m, shape) = Read(advantages, logProb, mask);
        var c = CovarianceValues(a, l, m);
        return tensor(Array.ConvertAll(c, x => (float)x), shape, device: logProb.device); // [batch, seq]
    }

    /// <summary>
    /// Clip-Cov selection, [batch, seq] with 1 on the tokens to detach: among valid tokens not already clipped by PPO
    /// (ℓ2 &gt; ℓ1 with r = exp(logπ_θ − logπ_old)) whose C_i lies strictly inside (ω_low, ω_high), pick
    /// min(k, candidates) uniformly at random without replacement, k = max(1, floor(ratio·N_valid)).
    /// </summary>
    public static Tensor ClipCov(
        Tensor logProb,
        Tensor oldLogProb,
        Tensor advantages,
        Tensor mask,
        double clipLow,
        double clipHigh,
        double ratio,
        double lowerBound,
        double upperBound,
        Random random)
    {
        var (a, l, m, shape) = Read(advantages, logProb, mask);
        var old = ReadFloats(oldLogProb);
        var c = CovarianceValues(a, l, m);
        var validCount = m.Count(v => v);
        var candidates = new List<int>();
        for (var i = 0; i < a.Length; i++)
        {
            if (!m[i])
            {
                continue;
            }
            var r = Math.Exp(l[i] - old[i]);
            var loss1 = -a[i] * r;
            var loss2 = -a[i] * Math.Clamp(r, 1 - clipLow, 1 + clipHigh);
            if (loss2 > loss1)
            {
                continue; // already clipped by PPO
            }
            if (c[i] > lowerBound && c[i] < upperBound)
            {
                candidates.Add(i);
            }
        }
        var k = Math.Min(Math.Max(1, (int)Math.Floor(ratio * validCount)), candidates.Count);
        // Partial Fisher–Yates: the first k entries become a uniform sample without replacement.
        for (var j = 0; j < k; j++)
        {
            var swap = random.Next(j, candidates.Count);
            (candidates[j], candidates[swap]) = (candidates[swap], candidates[j]);
        }
        return Indicator(candidates.Take(k), a.Length, shape, logProb.device); // [batch, seq]
    }

    /// <summary>
    /// KL-Cov selection, [batch, seq] with 1 on the k = max(1, floor(N_valid·ratio)) valid tokens of largest C_i
    /// (ties: the earlier token in row-major order). Empty when no token is valid.
    /// </summary>
    public static Tensor KlCov(Tensor logProb, Tensor advantages, Tensor mask, double ratio)
    {
        var (a, l, m, shape) = Read(advantages, logProb, mask);
        var c = CovarianceValues(a, l, m);
        var valid = Enumerable.Range(0, a.Length).Where(i => m[i]).ToList();
        var k = valid.Count == 0 ? 0 : Math.Max(1, (int)Math.Floor(valid.Count * ratio));
        var top = valid.OrderByDescending(i => c[i]).ThenBy(i => i).Take(k);
        return Indicator(top, a.Length, shape, logProb.device); // [batch, seq]
    }

    private static double[] CovarianceValues(float[] a, float[] l, bool[] m)
    {
        double sumA = 0, sumL = 0;
        var n = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (m[i])
            {
                sumA += a[i];
                sumL += l[i];
                n++;
            }
        }
        var meanA = n == 0 ? 0 : sumA / n;
        var meanL = n == 0 ? 0 : sumL / n;
        var c = new double[a.Length];
        for (var i = 0; i < a.Length; i++)
        {
            c[i] = m[i] ? (a[i] - meanA) * (l[i] - meanL) : 0;
        }
        return c;
    }

    private static (float[] Advantages, float[] LogProb, bool[] Mask, long[] Shape) Read(Tensor advantages, Tensor logProb, Tensor mask)
    {
        if (advantages.dim() != 2 || !advantages.shape.SequenceEqual(logProb.shape) || !mask.shape.SequenceEqual(logProb.shape))
        {
            throw new ArgumentException("Advantages, log-probs and mask must all be the same [batch, seq].");
        }
        using var valid = mask.gt(0).cpu().contiguous(); // [batch, seq]
        return (ReadFloats(advantages), ReadFloats(logProb), valid.data<bool>().ToArray(), logProb.shape);
    }

    private static float[] ReadFloats(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray(); // [batch·seq]
    }

    private static Tensor Indicator(IEnumerable<int> indices, int length, long[] shape, Device device)
    {
        var values = new float[length];
        foreach (var i in indices)
        {
            values[i] = 1f;
        }
        return tensor(values, shape, device: device); // [batch, seq]
    }
}
