using AgentRl.Policy.Generation;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Generation;

public sealed class BatchSamplerTests
{
    /// <summary>The sampling distribution written out by hand: temperature, top-k, top-p (keep while the mass before a token is below p).</summary>
    private static double[] Reference(float[] logits, double temperature, int topK, double topP)
    {
        var scaled = logits.Select(l => l / temperature).ToArray();
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => scaled[i]).ToArray();
        var max = scaled.Max();
        var z = scaled.Sum(s => Math.Exp(s - max));
        var keep = new bool[logits.Length];
        var before = 0.0;
        for (var rank = 0; rank < order.Length; rank++)
        {
            var p = Math.Exp(scaled[order[rank]] - max) / z;
            keep[order[rank]] = (topK == 0 || rank < topK) && before < topP;
            before += p;
        }

        var kept = Enumerable.Range(0, logits.Length).Where(i => keep[i]).Sum(i => Math.Exp(scaled[i] - max));
        return Enumerable.Range(0, logits.Length).Select(i => keep[i] ? Math.Exp(scaled[i] - max) / kept : 0.0).ToArray();
    }

    [Theory]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(0.7, 0, 1.0)]
    [InlineData(1.3, 5, 1.0)]
    [InlineData(1.0, 0, 0.6)]
    [InlineData(0.8, 8, 0.9)]
    public void Sample_AnySettings_EntropyAndLogProbAreThoseOfTheSamplingDistribution(double temperature, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var generator = new Random(4);
        var vocab = 32;
        var rows = new SamplingRow[6];
        var logits = new float[rows.Length * vocab];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)((generator.NextDouble() * 6) - 3);
        }

        for (var row = 0; row < rows.Length; row++)
        {
            rows[row] = new SamplingRow(temperature, topK, topP, 0, generator.NextDouble());
        }

        var sampled = BatchSampler.Sample(tensor(logits, [rows.Length, vocab]), rows);

        for (var row = 0; row < rows.Length; row++)
        {
            var p = Reference(logits[(row * vocab)..((row + 1) * vocab)], temperature, topK, topP);
            var entropy = -p.Where(x => x > 0).Sum(x => x * Math.Log(x));
            Assert.Equal(entropy, sampled[row].Entropy, 1e-4);
            Assert.True(p[sampled[row].TokenId] > 0, "the sampled token must be inside the filtered set");
            Assert.Equal(Math.Log(p[sampled[row].TokenId]), sampled[row].LogProb, 1e-4);
            // Inverse CDF over the kept tokens in descending order picks the token whose cumulative mass passes u.
            var order = Enumerable.Range(0, vocab).Where(i => p[i] > 0).OrderByDescending(i => p[i]).ToArray();
            var cumulative = 0.0;
            var expected = order[^1];
            foreach (var token in order)
            {
                cumulative += p[token];
                if (cumulative > rows[row].Uniform)
                {
                    expected = token;
                    break;
                }
            }

            if (topK > 0 || topP < 1)
            {
                Assert.Equal(expected, sampled[row].TokenId);
            }
        }
    }

    [Fact]
    public void Sample_ManyDraws_FollowTheDistribution()
    {
        using var scope = NewDisposeScope();
        var logits = new float[] { 2f, 1f, 0f, -1f };
        var expected = Reference(logits, 1.0, 0, 1.0);
        var generator = new Random(1);
        var rows = Enumerable.Range(0, 4000).Select(_ => new SamplingRow(1.0, 0, 1.0, 0, generator.NextDouble())).ToArray();
        var batch = tensor(logits, [1, 4]).expand(rows.Length, 4);   // [rows, 4]
        var sampled = BatchSampler.Sample(batch, rows);
        for (var token = 0; token < 4; token++)
        {
            var frequency = sampled.Count(s => s.TokenId == token) / (double)rows.Length;
            Assert.Equal(expected[token], frequency, 0.03);
        }
    }

    [Fact]
    public void Sample_GreedyAndSampledRowsTogether_GreedyRowTakesArgMax()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0.1f, 3f, 0.2f, 0.3f, 2.9f, 0.5f, 2.5f, 0.4f }, [2, 4]);   // [2, 4]
        var sampled = BatchSampler.Sample(logits, [new SamplingRow(0, 0, 1.0, 0, 0.999), new SamplingRow(1.0, 0, 1.0, 0, 0.999)]);
        Assert.Equal(1, sampled[0].TokenId);
        Assert.Equal(3, sampled[1].TokenId);   // u close to 1 picks the last token of the CDF
        var p = Reference([0.1f, 3f, 0.2f, 0.3f], 1.0, 0, 1.0);
        Assert.Equal(Math.Log(p[1]), sampled[0].LogProb, 1e-5);
    }

    [Theory]
    [InlineData(1.0, 0, 1.0, 0)]
    [InlineData(0.7, 0, 1.0, 5)]
    [InlineData(1.3, 5, 1.0, 0)]
    [InlineData(1.0, 0, 0.6, 3)]
    [InlineData(0.8, 8, 0.9, 20)]
    [InlineData(0.0, 0, 1.0, 0)]
    [InlineData(0.0, 4, 0.5, 2)]
    public void Sample_CpuLogits_EqualTheTorchPath(double temperature, int topK, double topP, int topLogProbs)
    {
        using var scope = NewDisposeScope();
        var generator = new Random(11);
        var vocab = 300;
        var rows = new SamplingRow[9];
        var logits = new float[rows.Length * vocab];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)((generator.NextDouble() * 8) - 4);
        }

        for (var row = 0; row < rows.Length; row++)
        {
            // Every third row greedy, the others with the theory's settings: mixed batches take both branches.
            rows[row] = row % 3 == 2
                ? new SamplingRow(0, 0, 1.0, topLogProbs, generator.NextDouble())
                : new SamplingRow(temperature, topK, topP, topLogProbs, generator.NextDouble());
        }

        var input = tensor(logits, [rows.Length, vocab]);
        var managed = BatchSampler.Sample(input, rows);
        var torch = BatchSampler.SampleWithTorch(input, rows);

        for (var row = 0; row < rows.Length; row++)
        {
            Assert.Equal(torch[row].TokenId, managed[row].TokenId);
            Assert.Equal(torch[row].LogProb, managed[row].LogProb, 1e-4);
            Assert.Equal(torch[row].Entropy, managed[row].Entropy, 1e-4);
            Assert.Equal(torch[row].TopLogProbs?.Select(t => t.TokenId), managed[row].TopLogProbs?.Select(t => t.TokenId));
            for (var i = 0; i < (torch[row].TopLogProbs?.Length ?? 0); i++)
            {
                Assert.Equal(torch[row].TopLogProbs![i].LogProb, managed[row].TopLogProbs![i].LogProb, 1e-4);
            }
        }
    }
}
