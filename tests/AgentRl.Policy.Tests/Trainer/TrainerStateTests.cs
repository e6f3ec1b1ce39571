using AgentRl.Policy.Tests.HuggingFace;
using AgentRl.Policy.Training;
using static AgentRl.Policy.Tests.Trainer.TrainerFixtures;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class TrainerStateTests
{
    [Fact]
    public void SaveThenResume_OneMoreStepOnBoth_GivesIdenticalWeights()
    {
        using var directory = new TempDirectory();
        var options = new TrainerOptions
        {
            Algorithm = "grpo",
            LearningRate = 1e-3,
            WarmupSteps = 2,
            Schedule = LearningRateScheduleKind.Cosine,
            TotalSteps = 10,
            MiniBatches = 2,
            TokenBudget = 40,
        };
        using var original = new PolicyTrainer(TestModels.Create(), options);
        var batch = ToyBatch(original.Model, count: 6, offPolicyNoise: 0.2f);
        original.TrainStep(batch);
        original.TrainStep(batch);
        original.Save(directory.Path);

        using var resumed = PolicyTrainer.Resume(directory.Path, options);
        Assert.Equal(2, resumed.PolicyVersion);
        Assert.Equal(original.Optimizer.StepCount, resumed.Optimizer.StepCount);
        Assert.NotNull(resumed.ReferenceModel);

        var a = original.TrainStep(batch);
        var b = resumed.TrainStep(batch);

        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(a.ReferenceKl, b.ReferenceKl);
        Assert.Equal(a.LearningRate, b.LearningRate);
        var weightsA = Weights(original.Model);
        var weightsB = Weights(resumed.Model);
        Assert.Equal(weightsA.Keys.Order(), weightsB.Keys.Order());
        foreach (var (name, value) in weightsA)
        {
            Assert.True(value.AsSpan().SequenceEqual(weightsB[name]), $"{name} differs after resuming");
        }
        Assert.Equal(3, resumed.PolicyVersion);
    }

    [Fact]
    public void Resume_WithoutOptimizerState_WouldDiffer()
    {
        // Guards the round-trip test: a fresh optimizer on the same weights gives different weights after a step.
        using var directory = new TempDirectory();
        var options = new TrainerOptions { Algorithm = "dapo", LearningRate = 1e-3 };
        using var original = new PolicyTrainer(TestModels.Create(), options);
        var batch = ToyBatch(original.Model, count: 4, offPolicyNoise: 0.2f);
        original.TrainStep(batch);
        original.TrainStep(batch);
        original.Save(directory.Path);
        using var resumed = PolicyTrainer.Resume(directory.Path, options);
        resumed.Optimizer.Reset();

        original.TrainStep(batch);
        resumed.TrainStep(batch);

        var weightsA = Weights(original.Model);
        var weightsB = Weights(resumed.Model);
        Assert.Contains(weightsA, kv => !kv.Value.AsSpan().SequenceEqual(weightsB[kv.Key]));
    }
}
