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

    /// <summary>
    /// The update's arithmetic does not depend on timing: the same checkpoint and batch give the same bits whether the
    /// machine is idle or every core is kept busy by spinning threads (torch splits work by its fixed intra-op thread count,
    /// micro-batches go in a fixed order). TorchSharp 0.107 marks <c>use_deterministic_algorithms</c> "not implemented",
    /// so this fixed order is the guarantee.
    /// </summary>
    [Fact]
    public async Task Resume_SameBatchOnAnIdleAndABusyMachine_GivesBitIdenticalWeights()
    {
        using var directory = new TempDirectory();
        var options = new TrainerOptions { Algorithm = "grpo", LearningRate = 1e-3, MiniBatches = 2, TokenBudget = 96 };
        TrainingExample[] batch;
        using (var original = new PolicyTrainer(TestModels.Create(AgentRl.Policy.Model.ModelConfig.Tiny, std: 0.05), options))
        {
            batch = ToyBatch(original.Model, count: 16, offPolicyNoise: 0.2f);
            original.Save(directory.Path);
        }

        (Dictionary<string, float[]> Weights, double Loss) Step()
        {
            using var trainer = PolicyTrainer.Resume(directory.Path, options);
            var step = trainer.TrainStep(batch);
            return (Weights(trainer.Model), step.Loss);
        }

        var idle = Step();
        using var stop = new CancellationTokenSource();
        var burners = Enumerable.Range(0, Environment.ProcessorCount + 1)
            .Select(_ => Task.Factory.StartNew(() => { while (!stop.IsCancellationRequested) { Thread.SpinWait(1000); } }, TaskCreationOptions.LongRunning))
            .ToArray();
        (Dictionary<string, float[]> Weights, double Loss) busy;
        try
        {
            busy = Step();
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(burners);
        }

        Assert.Equal(idle.Loss, busy.Loss);
        foreach (var (name, value) in idle.Weights)
        {
            Assert.True(value.AsSpan().SequenceEqual(busy.Weights[name]), $"{name} differs between the idle and the busy update");
        }
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
