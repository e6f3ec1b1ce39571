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

    /// <summary>The cost PackByCost minimises: padded tokens plus the overhead per micro-batch.</summary>
    private static long Cost(IReadOnlyList<int[]> batches, int[] lengths, int overhead) =>
        batches.Sum(b => ((long)b.Length * b.Max(i => lengths[i])) + overhead);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 16)]
    [InlineData(3, 64)]
    [InlineData(4, 1000)]
    public void PackByCost_RandomLengths_CheapestOfEveryCutOfTheLongestFirstOrder(int seed, int overhead)
    {
        var random = new Random(seed);
        var lengths = Enumerable.Range(0, 12).Select(_ => random.Next(1, 120)).ToArray();
        const int Budget = 400;

        var batches = TokenBudgetBatcher.PackByCost(lengths, Budget, overhead);

        Assert.Equal(Enumerable.Range(0, 12), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.True(b.Length == 1 || b.Length * b.Max(i => lengths[i]) <= Budget));

        // Brute force over the 2^11 ways to cut the longest-first order into runs within the budget.
        var order = Enumerable.Range(0, 12).OrderByDescending(i => lengths[i]).ToArray();
        var best = long.MaxValue;
        for (var cuts = 0; cuts < 1 << 11; cuts++)
        {
            var runs = new List<int[]>();
            var first = 0;
            for (var k = 1; k <= 12; k++)
            {
                if (k == 12 || (cuts & (1 << (k - 1))) != 0)
                {
                    runs.Add(order[first..k]);
                    first = k;
                }
            }

            if (runs.All(b => b.Length == 1 || b.Length * b.Max(i => lengths[i]) <= Budget))
            {
                best = Math.Min(best, Cost(runs, lengths, overhead));
            }
        }

        Assert.Equal(best, Cost(batches, lengths, overhead));
    }

    [Fact]
    public void PackByCost_LongAndShortRows_SplitsThemWhereOnePaddedMicroBatchFitsTheBudget()
    {
        int[] lengths = [.. Enumerable.Repeat(100, 8), .. Enumerable.Repeat(14, 8)];

        Assert.Single(TokenBudgetBatcher.Pack(lengths, 4096));
        var batches = TokenBudgetBatcher.PackByCost(lengths, 4096, overheadTokens: 64);

        // 16 × 100 + 64 = 1,664 padded-token equivalents in one micro-batch against 8 × 100 + 8 × 14 + 2 × 64 = 1,040 in two.
        Assert.Equal([Enumerable.Range(0, 8), Enumerable.Range(8, 8)], batches.Select(b => b.Order()));

        // A large overhead keeps the fewest micro-batches; rows of one length are never cut within the budget.
        Assert.Single(TokenBudgetBatcher.PackByCost(lengths, 4096, overheadTokens: 10_000));
        Assert.Single(TokenBudgetBatcher.PackByCost(Enumerable.Repeat(50, 16).ToArray(), 4096, overheadTokens: 1));
        Assert.Equal(TokenBudgetBatcher.Pack(lengths, 512).Count, TokenBudgetBatcher.PackByCost(lengths, 512, overheadTokens: 10_000).Count);
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
