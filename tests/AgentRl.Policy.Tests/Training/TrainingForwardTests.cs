using AgentRl.Policy.Training;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Training;

public sealed class TrainingForwardTests
{
    [Fact]
    public void Pack_RandomLengths_EveryMicroBatchWithinBudgetAndEverySequenceOnce()
    {
        var random = new Random(3);
        var lengths = Enumerable.Range(0, 200).Select(_ => random.Next(1, 300)).ToArray();
        const int Budget = 1024;

        var batches = TokenBudgetBatcher.Pack(lengths, Budget);

        Assert.Equal(Enumerable.Range(0, 200), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.True(b.Length * b.Max(i => lengths[i]) <= Budget, $"{b.Length} rows × {b.Max(i => lengths[i])}"));
        Assert.True(batches.Count < 200 / 2, "packing must put several sequences together");
    }

    [Fact]
    public void Pack_SequenceLongerThanBudget_GetsAMicroBatchOfItsOwn()
    {
        var batches = TokenBudgetBatcher.Pack([10, 500, 20], 100);
        Assert.Contains(batches, b => b.SequenceEqual([1]));
        Assert.Equal(2, batches.Count);
    }

    [Fact]
    public void Score_PaddedBatch_EqualsEachSequenceAloneAndMasksPadding()
    {
        using var model = TestModels.Create();
        using var scope = NewDisposeScope();
        TrainingSequence[] sequences =
        [
            new(TestModels.RandomTokens(9, 64, 1).Select(t => (int)t).ToArray(), [0, 0, 0, 1, 1, 1, 0, 1, 1]),
            new(TestModels.RandomTokens(4, 64, 2).Select(t => (int)t).ToArray()),
        ];
        using var batch = MicroBatch.Create(sequences, [0, 1]);
        var scores = PolicyForward.Score(model, batch);
        scores.LogProbs.sum().backward();

        Assert.Equal([2L, 8L], scores.LogProbs.shape);
        Assert.NotNull(model.parameters().First().grad);
        Assert.Equal(new float[] { 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 }, batch.LossMask.data<float>().ToArray());
        var alone = PolicyForward.ScoreToArrays(model, [sequences[1]])[0];
        var logProbs = scores.LogProbs.detach();   // [2, 8]
        for (var t = 0; t < 3; t++)
        {
            Assert.Equal(alone.LogProbs[t], logProbs[1, t].item<float>(), 1e-5);
        }

        // Reference: log_softmax of the full forward at position t, read at token t + 1.
        var ids = tensor(sequences[0].TokenIds.Select(i => (long)i).ToArray(), [1, 9]);   // [1, 9]
        var reference = model.forward(ids).log_softmax(-1);                                 // [1, 9, vocab]
        for (var t = 0; t < 8; t++)
        {
            Assert.Equal(reference[0, t, sequences[0].TokenIds[t + 1]].item<float>(), logProbs[0, t].item<float>(), 1e-5);
        }
    }
}
