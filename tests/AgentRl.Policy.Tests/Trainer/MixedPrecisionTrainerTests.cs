using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tests.HuggingFace;
using AgentRl.Policy.Training;
using TorchSharp;
using static AgentRl.Policy.Tests.Trainer.TrainerFixtures;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Trainer;

/// <summary>
/// A trainer whose model computes in bf16 — what a GPU silo runs — on the CPU, where torch computes bf16 too: f32 master
/// weights and moments, compute weights that are their rounding, and weights that reach f32 and bf16 engines exactly.
/// </summary>
public sealed class MixedPrecisionTrainerTests
{
    private static readonly ComputeTarget Bf16 = new(DeviceType.CPU, -1, ScalarType.BFloat16);

    private static TrainerOptions Options(string algorithm = "grpo") => new() { Algorithm = algorithm, LearningRate = 1e-3, MiniBatches = 2, TokenBudget = 48 };

    [Theory]
    [InlineData("grpo")]
    [InlineData("dapo")]
    [InlineData("gspo")]
    [InlineData("rloo")]
    [InlineData("kl-cov")]
    [InlineData("aepo")]
    public void Bf16Trainer_TrainsWithF32MasterWeights_WhoseRoundingIsTheModel(string algorithm)
    {
        using var trainer = PolicyTrainer.Create(TestModels.Create(), Bf16, Options(algorithm));
        Assert.Equal(ScalarType.BFloat16, trainer.Model.DType);
        Assert.NotNull(trainer.MasterModel);
        Assert.Equal(ScalarType.Float32, trainer.Weights.DType);
        Assert.All(trainer.Optimizer.State(), s => Assert.Equal(ScalarType.Float32, s.Value.dtype));

        using var scoring = TestModels.Create();
        var batch = ToyBatch(scoring, count: 6, offPolicyNoise: 0.2f);
        var before = Weights(trainer.Weights);
        var metrics = trainer.TrainStep(batch);
        trainer.TrainStep(batch);

        Assert.True(double.IsFinite(metrics.Loss) && double.IsFinite(metrics.GradNorm) && metrics.GradNorm > 0, $"loss {metrics.Loss}, grad norm {metrics.GradNorm}");
        Assert.True(metrics.OptimizerSteps > 0);
        var after = Weights(trainer.Weights);
        Assert.Contains(after, kv => !kv.Value.AsSpan().SequenceEqual(before[kv.Key]));
        AssertModelIsMasterRounded(trainer);
    }

    [Fact]
    public void Bf16Trainer_Sft_LowersTheLoss()
    {
        using var trainer = PolicyTrainer.Create(TestModels.Create(), Bf16, Options());
        var ids = TestModels.RandomTokens(12, TestModels.Micro.VocabSize, 5).Select(t => (int)t).ToArray();
        var mask = ids.Select((_, t) => (byte)(t >= 3 ? 1 : 0)).ToArray();
        var example = new SftExample(ids, mask);
        var first = trainer.SftStep([example], 1e-2);
        SftStepMetrics last = first;
        for (var i = 0; i < 20; i++)
        {
            last = trainer.SftStep([example], 1e-2);
        }

        Assert.True(last.Loss < first.Loss * 0.5, $"SFT in bf16 went {first.Loss} → {last.Loss}");
        AssertModelIsMasterRounded(trainer);
    }

    /// <summary>The reason for master weights: an update far below bf16's resolution of a weight moves the f32 master copy.</summary>
    [Fact]
    public void TinyUpdates_AccumulateInTheMasterWeights()
    {
        using var trainer = PolicyTrainer.Create(TestModels.Create(), Bf16, Options());
        using var scoring = TestModels.Create();
        var batch = ToyBatch(scoring, count: 4);
        var initial = Weights(trainer.Weights);
        var options = trainer.Options;
        for (var i = 0; i < 3; i++)
        {
            trainer.SftStep([new SftExample(batch[0].TokenIds, batch[0].LossMask)], 1e-5);
        }

        var moved = Weights(trainer.Weights).Sum(kv => kv.Value.Zip(initial[kv.Key]).Count(x => x.First != x.Second));
        var total = initial.Sum(kv => kv.Value.Length);
        Assert.True(moved > total / 2, $"{moved} of {total} master weights moved under lr 1e-5 ({options.Algorithm})");
    }

    [Fact]
    public void SaveThenResume_Bf16Trainer_IsBitExact()
    {
        using var directory = new TempDirectory();
        var options = Options();
        using var original = PolicyTrainer.Create(TestModels.Create(), Bf16, options);
        using var scoring = TestModels.Create();
        var batch = ToyBatch(scoring, count: 6, offPolicyNoise: 0.2f);
        original.TrainStep(batch);
        original.Save(directory.Path);
        Assert.All(HfCheckpoint.Inspect(Path.Combine(directory.Path, TrainerState.ModelDirectory)), t => Assert.Equal(SafetensorsDtype.F32, t.Dtype));

        using var resumed = PolicyTrainer.Resume(directory.Path, options, Bf16);
        Assert.Equal(ScalarType.BFloat16, resumed.Model.DType);
        var a = original.TrainStep(batch);
        var b = resumed.TrainStep(batch);
        Assert.Equal(a.Loss, b.Loss);
        foreach (var (name, value) in Weights(original.Weights))
        {
            Assert.True(value.AsSpan().SequenceEqual(Weights(resumed.Weights)[name]), $"{name} differs after resuming");
        }
    }

    /// <summary>
    /// The handoff of a GPU trainer to CPU engines, through a checkpoint as the store holds it: the checkpoint carries the
    /// f32 master weights, an f32 engine loads them exactly and a bf16 engine loads exactly the trainer's compute weights.
    /// </summary>
    [Fact]
    public async Task Bf16Trainer_Checkpoint_LoadsIntoF32AndBf16Engines()
    {
        using var directory = new TempDirectory();
        using var trainer = PolicyTrainer.Create(TestModels.Create(), Bf16, Options());
        using var scoring = TestModels.Create();
        trainer.TrainStep(ToyBatch(scoring, count: 6));
        HfCheckpoint.Save(directory.Path, trainer.Model.Config, trainer.Weights);

        var f32Model = TestModels.Create(seed: 9);
        var bf16Model = TestModels.Create(seed: 9).MoveTo(Bf16);
        using var f32Engine = new AgentRl.Policy.Generation.InferenceEngine(f32Model, 0);
        using var bf16Engine = new AgentRl.Policy.Generation.InferenceEngine(bf16Model, 0);
        foreach (var engine in new[] { f32Engine, bf16Engine })
        {
            using var checkpoint = HfCheckpoint.Open(directory.Path);
            var weights = checkpoint.Weights.ReadAll();
            await engine.LoadWeightsAsync(trainer.PolicyVersion, weights);
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }

        var master = trainer.Weights.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var compute = trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var f32Loaded = f32Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var bf16Loaded = bf16Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, weight) in master)
        {
            Assert.Equal(ScalarType.Float32, f32Loaded[name].dtype);
            Assert.True(f32Loaded[name].eq(weight).all().item<bool>(), $"f32 engine: {name} is not the master weight");
            Assert.Equal(ScalarType.BFloat16, bf16Loaded[name].dtype);
            Assert.True(bf16Loaded[name].eq(compute[name]).all().item<bool>(), $"bf16 engine: {name} is not the trainer's compute weight");
        }
    }

    /// <summary>A bf16 engine takes the torch path (no managed f32 decoder) and samples, filters and reports log-probs.</summary>
    [Fact]
    public async Task Bf16Engine_GeneratesThroughTorch()
    {
        using var engine = new AgentRl.Policy.Generation.InferenceEngine(TestModels.Create().MoveTo(Bf16), 0);
        Assert.False(engine.BatchInvariant);
        var prompt = TestModels.RandomTokens(6, TestModels.Micro.VocabSize, 2).Select(t => (int)t).ToArray();
        var requests = new[]
        {
            new AgentRl.Policy.Generation.GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 8, Temperature = 0 },
            new AgentRl.Policy.Generation.GenerationRequest { PromptTokenIds = prompt, MaxNewTokens = 8, Temperature = 0.8, TopK = 10, TopP = 0.9, TopLogProbs = 3, Seed = 4 },
        };
        var results = await Task.WhenAll(requests.Select(r => engine.GenerateAsync(r)));
        Assert.All(results, r =>
        {
            Assert.Equal(8, r.TokenIds.Length);
            Assert.All(r.LogProbs, l => Assert.True(float.IsFinite(l) && l <= 0, $"log-prob {l}"));
        });
    }

    [Fact]
    public void Create_F32Target_HasNoMasterCopy()
    {
        using var trainer = PolicyTrainer.Create(TestModels.Create(), ComputeTarget.Cpu, Options());
        Assert.Null(trainer.MasterModel);
        Assert.Same(trainer.Model, trainer.Weights);
    }

    private static void AssertModelIsMasterRounded(PolicyTrainer trainer)
    {
        var compute = trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, master) in trainer.Weights.named_parameters())
        {
            using var rounded = master.to_type(ScalarType.BFloat16);
            Assert.True(rounded.eq(compute[name]).all().item<bool>(), $"{name}: the compute weight is not the rounding of the master weight");
        }
    }
}
