using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Training;

/// <summary>Per-token log-probabilities of the given next tokens and full-vocabulary entropies, with gradients.</summary>
/// <param name="LogProbs">[rows, seq - 1] f32, <c>log p(target_t | tokens ≤ t)</c>.</param>
/// <param name="Entropies">[rows, seq - 1] f32, <c>−Σ_v p_v log p_v</c> of the next-token distribution; null when not asked for.</param>
public sealed record TokenScores(Tensor LogProbs, Tensor? Entropies);

/// <summary>Scores of one sequence as managed arrays; element <c>t</c> is about token <c>t + 1</c>.</summary>
public sealed record SequenceScores(float[] LogProbs, float[] Entropies);

/// <summary>The training forward: token log-probabilities and entropies under the current weights.</summary>
public static class PolicyForward
{
    /// <summary>
    /// Forward pass with autograd (call inside the trainer's dispose scope). Logits are taken in f32 whatever the
    /// model dtype. Padding positions hold values to be masked with <see cref="MicroBatch.LossMask"/>.
    /// </summary>
    public static TokenScores Score(CausalLanguageModel model, MicroBatch batch, bool withEntropy = true)
    {
        var logits = model.forward(batch.InputIds).to_type(ScalarType.Float32);                  // [rows, seq - 1, vocab]
        var logProbsAll = logits.log_softmax(-1);                                                 // [rows, seq - 1, vocab]
        var logProbs = logProbsAll.gather(-1, batch.Targets.unsqueeze(-1)).squeeze(-1);           // [rows, seq - 1]
        Tensor? entropies = null;
        if (withEntropy)
        {
            entropies = logProbsAll.exp().mul(logProbsAll).sum(-1).neg();                         // [rows, seq - 1]
        }

        return new TokenScores(logProbs, entropies);
    }

    /// <summary>
    /// <see cref="Score"/> through packed family rows (<see cref="PrefixPacking"/>): one forward over the packed rows, then
    /// the scores of each unpacked (row, column) read from the slot of its input token, with the unpacked targets. Equal
    /// to <see cref="Score"/> on the unpacked rows up to float rounding; gradients of shared slots add up over descendants.
    /// </summary>
    /// <param name="model">The policy (or reference) model.</param>
    /// <param name="packed">Family rows and slot map from <see cref="PrefixPacking.Create"/>.</param>
    /// <param name="targets">[rows, columns] int64 next tokens of the unpacked view (<see cref="MicroBatch.Targets"/>).</param>
    /// <param name="withEntropy">Whether to compute full-vocabulary entropies.</param>
    public static TokenScores ScorePacked(CausalLanguageModel model, PackedBatch packed, Tensor targets, bool withEntropy = true)
    {
        var logits = model.ForwardPacked(packed.InputIds, packed.Positions, packed.Mask).to_type(ScalarType.Float32);   // [units, width, vocab]
        var vocab = logits.size(2);
        var logProbsAll = logits.log_softmax(-1).view(-1, vocab);                                 // [units · width, vocab]
        var rows = targets.size(0);
        var columns = targets.size(1);
        var slots = packed.Slots.view(-1);                                                         // [rows · columns]
        var flat = slots.mul(vocab).add(targets.reshape(-1));                                      // [rows · columns]
        var logProbs = logProbsAll.view(-1).index_select(0, flat).view(rows, columns);             // [rows, columns]
        Tensor? entropies = null;
        if (withEntropy)
        {
            var slotEntropy = logProbsAll.exp().mul(logProbsAll).sum(-1).neg();                   // [units · width]
            entropies = slotEntropy.index_select(0, slots).view(rows, columns);                     // [rows, columns]
        }

        return new TokenScores(logProbs, entropies);
    }

    /// <summary>
    /// Scores many sequences without gradients (e.g. old or reference log-probs), packed into micro-batches of at
    /// most <paramref name="tokenBudget"/> padded tokens; one dispose scope per micro-batch.
    /// </summary>
    public static SequenceScores[] ScoreToArrays(CausalLanguageModel model, IReadOnlyList<TrainingSequence> sequences, int tokenBudget = 4096)
    {
        var results = new SequenceScores[sequences.Count];
        var lengths = sequences.Select(s => s.TokenIds.Count).ToArray();
        using var noGrad = no_grad();
        foreach (var indices in TokenBudgetBatcher.Pack(lengths, tokenBudget))
        {
            using var scope = NewDisposeScope();
            using var batch = MicroBatch.Create(sequences, indices, model.Device);
            var scores = Score(model, batch);
            var columns = (int)batch.Columns;
            var logProbs = scores.LogProbs.cpu().data<float>().ToArray();      // rows × (seq - 1)
            var entropies = scores.Entropies!.cpu().data<float>().ToArray();  // rows × (seq - 1)
            for (var row = 0; row < indices.Length; row++)
            {
                var count = Math.Max(0, batch.Lengths[row] - 1);
                results[indices[row]] = new SequenceScores(
                    logProbs.AsSpan(row * columns, count).ToArray(),
                    entropies.AsSpan(row * columns, count).ToArray());
            }
        }

        return results;
    }
}
