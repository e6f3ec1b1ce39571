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
