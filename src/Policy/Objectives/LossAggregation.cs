using static TorchSharp.torch;

namespace AgentRl.Policy.Objectives;

/// <summary>
/// Global normalisers of docs/ALGORITHMS.md §0.4 (verl <c>global_batch_info</c>). With gradient accumulation, give every
/// micro-batch the counts of the whole mini-batch (<see cref="FromMask"/> on the mini-batch mask): the micro-batch losses
/// then sum to the mini-batch loss. A null count means "count this batch".
/// </summary>
public sealed record AggregationNormalizers
{
    /// <summary>N_tokens: valid tokens of the global mini-batch (token-mean).</summary>
    public double? TokenCount { get; init; }

    /// <summary>N_seq: sequences of the global mini-batch with at least one valid token (seq-mean-* modes).</summary>
    public double? SequenceCount { get; init; }

    /// <summary>dp_size: data-parallel replicas whose gradients are averaged afterwards. Default 1.</summary>
    public double DpSize { get; init; } = 1;

    /// <summary>Counts valid tokens and non-empty sequences of a [batch, seq] mask (the whole mini-batch).</summary>
    public static AggregationNormalizers FromMask(Tensor mask, double dpSize = 1)
    {
        using var scope = NewDisposeScope();
        var valid = mask.gt(0);                              // [batch, seq]
        var tokens = valid.sum().item<long>();
        var sequences = valid.sum(1).gt(0).sum().item<long>();
        return new AggregationNormalizers { TokenCount = tokens, SequenceCount = sequences, DpSize = dpSize };
    }
}

/// <summary>verl <c>agg_loss</c>: the four modes of docs/ALGORITHMS.md §0.4.</summary>
public static class LossAggregation
{
    /// <summary>ε under the per-sequence token count in seq-mean-token-mean.</summary>
    public const double SequenceTokenEpsilon = 1e-8;

    /// <summary>
    /// Aggregates <paramref name="lossMatrix"/> [batch, seq] over the tokens where <paramref name="mask"/> [batch, seq]
    /// is non-zero (masked positions are dropped with <c>where</c>, so a non-finite value there cannot leak in).
    /// Sequences with no valid token are excluded from N_seq. <paramref name="lossScaleFactor"/> is K of
    /// seq-mean-token-sum-norm (null: the mask width). A zero count is taken as 1 (the sum is then 0 too).
    /// </summary>
    public static Tensor Aggregate(
        Tensor lossMatrix,
        Tensor mask,
        LossAggMode mode,
        AggregationNormalizers? normalizers = null,
        double? lossScaleFactor = null)
    {
        if (!lossMatrix.shape.SequenceEqual(mask.shape) || lossMatrix.dim() != 2)
        {
            throw new ArgumentException("Loss matrix and mask must both be [batch, seq].", nameof(mask));
        }
        normalizers ??= new AggregationNormalizers();
        var valid = mask.gt(0);                                                  // [batch, seq]
        var masked = where(valid, lossMatrix, zeros_like(lossMatrix));            // [batch, seq]
        switch (mode)
        {
            case LossAggMode.TokenMean:
                {
                    var tokens = normalizers.TokenCount ?? valid.sum().item<long>();
                    return masked.sum() / Math.Max(tokens, 1.0) * normalizers.DpSize; // []
                }
            case LossAggMode.SeqMeanTokenSum:
                {
                    var sequenceLoss = masked.sum(1);                             // [batch]
                    return SequenceMean(sequenceLoss, valid, normalizers);        // []
                }
            case LossAggMode.SeqMeanTokenMean:
                {
                    var tokensPerSequence = valid.to_type(lossMatrix.dtype).sum(1); // [batch]
                    var sequenceLoss = masked.sum(1) / (tokensPerSequence + SequenceTokenEpsilon); // [batch]
                    return SequenceMean(sequenceLoss, valid, normalizers);        // []
                }
            case LossAggMode.SeqMeanTokenSumNorm:
                {
                    var k = lossScaleFactor ?? mask.shape[1];
                    return masked.sum() / Math.Max(k, double.Epsilon);            // []
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, null);
        }
    }

    private static Tensor SequenceMean(Tensor sequenceLoss, Tensor valid, AggregationNormalizers normalizers)
    {
        var nonEmpty = valid.sum(1).gt(0);                                         // [batch]
        var kept = where(nonEmpty, sequenceLoss, zeros_like(sequenceLoss));        // [batch]
        var sequences = normalizers.SequenceCount ?? nonEmpty.sum().item<long>();
        return kept.sum() / Math.Max(sequences, 1.0) * normalizers.DpSize;         // []
    }
}
