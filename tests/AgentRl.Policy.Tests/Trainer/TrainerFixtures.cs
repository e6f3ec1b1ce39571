using AgentRl.Policy.Model;
using AgentRl.Policy.Training;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Trainer;

internal static class TrainerFixtures
{
    /// <summary>
    /// A toy RL batch on the micro model: random sequences of varied length, the first <c>prompt</c> tokens masked out,
    /// behaviour log-probs from the model itself plus <paramref name="offPolicyNoise"/> (so ratios differ from 1).
    /// </summary>
    public static TrainingExample[] ToyBatch(CausalLanguageModel model, int count = 6, int seed = 7, float offPolicyNoise = 0f)
    {
        var random = new Random(seed);
        var sequences = Enumerable.Range(0, count).Select(i =>
        {
            var length = 6 + random.Next(10);
            var ids = TestModels.RandomTokens(length, model.Config.VocabSize, seed * 100 + i).Select(t => (int)t).ToArray();
            var prompt = 2 + random.Next(3);
            var mask = Enumerable.Range(0, length).Select(t => (byte)(t >= prompt ? 1 : 0)).ToArray();
            if (length > 9)
            {
                mask[prompt + 2] = 0; // a "tool output" token inside the response
            }
            return (ids, mask);
        }).ToArray();
        var scores = PolicyForward.ScoreToArrays(model, [.. sequences.Select(s => new TrainingSequence(s.ids))]);
        return [.. sequences.Select((s, i) =>
        {
            var old = new float[s.ids.Length];
            for (var t = 1; t < old.Length; t++)
            {
                old[t] = s.mask[t] != 0 ? scores[i].LogProbs[t - 1] + (offPolicyNoise * (float)((random.NextDouble() * 2) - 1)) : 0f;
            }
            return new TrainingExample(s.ids, s.mask, old) { Advantage = (float)((random.NextDouble() * 2) - 1) };
        })];
    }

    /// <summary>Sum of logπ over the mask-1 tokens of each example under the model's current weights.</summary>
    public static double[] MaskedLogProbSums(CausalLanguageModel model, IReadOnlyList<TrainingExample> batch)
    {
        var scores = PolicyForward.ScoreToArrays(model, [.. batch.Select(e => new TrainingSequence(e.TokenIds))]);
        return [.. batch.Select((e, i) => Enumerable.Range(1, e.TokenIds.Length - 1).Where(t => e.LossMask[t] != 0).Sum(t => (double)scores[i].LogProbs[t - 1]))];
    }

    public static Dictionary<string, float[]> Gradients(PolicyTrainer trainer)
    {
        using var scope = NewDisposeScope();
        return trainer.Parameters.ToDictionary(p => p.Name, p => p.Parameter.grad is { } g ? g.cpu().data<float>().ToArray() : []);
    }

    public static Dictionary<string, float[]> Weights(CausalLanguageModel model)
    {
        using var scope = NewDisposeScope();
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());
    }

    public static double Norm(IEnumerable<float[]> arrays) => Math.Sqrt(arrays.Sum(a => a.Sum(x => (double)x * x)));

    /// <summary>Every parameter's gradient within <paramref name="relative"/> of the expected one (L2 difference over max(‖expected‖, 1e-3)).</summary>
    public static void AssertGradientsClose(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double relative = 1e-4)
    {
        foreach (var (name, values) in expected)
        {
            var scale = Math.Max(Norm([values]), 1e-3);
            var diff = Math.Sqrt(values.Zip(actual[name]).Sum(x => (double)(x.First - x.Second) * (x.First - x.Second)));
            Assert.True(diff / scale < relative, $"{name}: relative difference {diff / scale}");
        }
    }

    /// <summary>Multiplies every trainable weight by <paramref name="factor"/> (e.g. to move the policy away from its reference so a KL term has a gradient).</summary>
    public static void ScaleWeights(IEnumerable<PolicyTrainer> trainers, double factor)
    {
        using var noGrad = no_grad();
        foreach (var trainer in trainers)
        {
            foreach (var (_, p) in trainer.Parameters)
            {
                p.mul_(factor);
            }
        }
    }
}
