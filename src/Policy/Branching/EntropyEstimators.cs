namespace AgentRl.Policy.Branching;

/// <summary>
/// What the generator reports for the tokens of one segment (the tokens generated after a tool result, or after the
/// prompt for a first segment). Either field may be absent; an estimator says which one it needs.
/// </summary>
/// <param name="TokenEntropies">Per-token full-vocabulary entropy H_t = −Σ_v p_v ln p_v, in nats, in token order.</param>
/// <param name="TopLogprobs">Per position, every logprob the engine returned (top-k candidates, plus the sampled token when it is outside them).</param>
/// <param name="TopLogprobEntropies">Per position, −Σ e^ℓ·ℓ over those logprobs, already summed (what rollouts record).</param>
public sealed record SegmentEntropyInput(
    IReadOnlyList<double>? TokenEntropies = null,
    IReadOnlyList<IReadOnlyList<double>>? TopLogprobs = null,
    IReadOnlyList<double>? TopLogprobEntropies = null);

/// <summary>Turns one segment's token statistics into the scalar entropy that branching compares with the baseline.</summary>
public interface IEntropyEstimator
{
    /// <summary>The registry name (<see cref="EntropyEstimators.Create"/>).</summary>
    string Name { get; }

    /// <summary>The segment entropy. An empty segment gives 0.</summary>
    double Estimate(SegmentEntropyInput segment);
}

/// <summary>
/// <c>mean-full-vocab</c> (paper-faithful, docs/ALGORITHMS.md §1.2 and §9): the mean of the full-vocabulary token entropies
/// over the first <see cref="Positions"/> tokens of the segment.
/// </summary>
public sealed class MeanFullVocabEntropy(int positions = 20) : IEntropyEstimator
{
    public const string RegistryName = "mean-full-vocab";

    public int Positions { get; } = positions > 0 ? positions : throw new ArgumentOutOfRangeException(nameof(positions));

    public string Name => RegistryName;

    public double Estimate(SegmentEntropyInput segment)
    {
        var entropies = segment.TokenEntropies
            ?? throw new ArgumentException($"'{RegistryName}' needs per-token entropies.", nameof(segment));
        var n = Math.Min(Positions, entropies.Count);
        if (n == 0)
        {
            return 0.0;
        }

        var sum = 0.0;
        for (var t = 0; t < n; t++)
        {
            sum += entropies[t];
        }

        return sum / n;
    }
}

/// <summary>
/// <c>topk-summed-normalized</c>, the reference code's estimator (docs/ALGORITHMS.md §1.3 step 3): every logprob returned for
/// each of the first min(<see cref="Positions"/>, length) positions is pooled into one list L, H = −Σ_{ℓ∈L} e^ℓ·ℓ — a
/// sum over positions of truncated entropies, not a mean — and the result is divided by ln|V|.
/// </summary>
public sealed class TopKSummedNormalizedEntropy : IEntropyEstimator
{
    public const string RegistryName = "topk-summed-normalized";

    /// <summary>Top logprobs per generated token the reference asks its engine for (<c>logprobs=10</c>).</summary>
    public const int ReferenceTopLogprobs = 10;

    public TopKSummedNormalizedEntropy(int vocabularySize, int positions = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(positions, 1);
        VocabularySize = vocabularySize;
        Positions = positions;
    }

    /// <summary>|V| = <c>len(tokenizer.get_vocab())</c> in the reference (≈151k for Qwen).</summary>
    public int VocabularySize { get; }

    public int Positions { get; }

    public string Name => RegistryName;

    public double Estimate(SegmentEntropyInput segment)
    {
        if (segment.TopLogprobs is null && segment.TopLogprobEntropies is { } summed)
        {
            var count = Math.Min(Positions, summed.Count);
            var total = 0.0;
            for (var t = 0; t < count; t++)
            {
                total += summed[t];
            }

            return total / Math.Log(VocabularySize);
        }

        var positions = segment.TopLogprobs
            ?? throw new ArgumentException($"'{RegistryName}' needs per-position top-k logprobs.", nameof(segment));
        var n = Math.Min(Positions, positions.Count);
        var sum = 0.0;
        for (var t = 0; t < n; t++)
        {
            foreach (var logprob in positions[t])
            {
                if (double.IsFinite(logprob))
                {
                    sum -= Math.Exp(logprob) * logprob;
                }
            }
        }

        return sum / Math.Log(VocabularySize);
    }
}

/// <summary>Entropy estimators chosen by name.</summary>
public static class EntropyEstimators
{
    public static IReadOnlyList<string> Names { get; } = [MeanFullVocabEntropy.RegistryName, TopKSummedNormalizedEntropy.RegistryName];

    /// <summary>Builds the estimator named <see cref="BranchingOptions.EntropyEstimator"/>.</summary>
    public static IEntropyEstimator Create(BranchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.EntropyEstimator switch
        {
            MeanFullVocabEntropy.RegistryName => new MeanFullVocabEntropy(options.EntropyPositions),
            TopKSummedNormalizedEntropy.RegistryName => new TopKSummedNormalizedEntropy(
                options.VocabularySize ?? throw new ArgumentException(
                    $"'{TopKSummedNormalizedEntropy.RegistryName}' needs {nameof(BranchingOptions.VocabularySize)}.", nameof(options)),
                options.EntropyPositions),
            _ => throw new ArgumentException(
                $"Unknown entropy estimator '{options.EntropyEstimator}'. Known: {string.Join(", ", Names)}.", nameof(options)),
        };
    }

    /// <summary>Full-vocabulary entropy of one logit row at a sampling temperature: H = −Σ p ln p, p = softmax(z/T).</summary>
    public static double FromLogits(ReadOnlySpan<float> logits, double temperature = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(temperature, 0.0);
        if (logits.IsEmpty)
        {
            return 0.0;
        }

        var max = double.NegativeInfinity;
        foreach (var z in logits)
        {
            max = Math.Max(max, z / temperature);
        }

        // H = logZ − Σ p·s with s = z/T − max and Z = Σ e^s.
        double partition = 0.0, weighted = 0.0;
        foreach (var z in logits)
        {
            var s = (z / temperature) - max;
            var e = Math.Exp(s);
            partition += e;
            weighted += e * s;
        }

        return Math.Log(partition) - (weighted / partition);
    }
}
