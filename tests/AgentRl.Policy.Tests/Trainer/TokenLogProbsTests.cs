using AgentRl.Policy.Training;
using static AgentRl.Policy.Tests.Trainer.TrainerFixtures;

namespace AgentRl.Policy.Tests.Trainer;

/// <summary>A swarm receiver's old logprobs of external completions: the current policy's, per token, in the trajectory layout.</summary>
public sealed class TokenLogProbsTests
{
    [Fact]
    public void TokenLogProbs_EqualASeparateForwardPerSequence_OnMaskOneTokens_AndZeroElsewhere()
    {
        using var trainer = new PolicyTrainer(TestModels.Create(), new TrainerOptions { TokenBudget = 40 });   // several micro-batches
        var batch = ToyBatch(trainer.Model, count: 5, offPolicyNoise: 0.3f);

        var logprobs = trainer.TokenLogProbs(batch);
        var reference = PolicyForward.ScoreToArrays(trainer.Model, [.. batch.Select(e => new TrainingSequence(e.TokenIds))]);

        Assert.Equal(batch.Length, logprobs.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(batch[i].TokenIds.Length, logprobs[i].Length);
            Assert.Equal(0f, logprobs[i][0]);
            for (var t = 1; t < logprobs[i].Length; t++)
            {
                Assert.Equal(batch[i].LossMask[t] != 0 ? reference[i].LogProbs[t - 1] : 0f, logprobs[i][t], 4);
            }
        }
    }
}
