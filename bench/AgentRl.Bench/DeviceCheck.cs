using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Grains.Hosting;
using AgentRl.Policy.Generation;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Training;
using static TorchSharp.torch;

namespace AgentRl.Bench;

/// <summary>
/// <c>agentrl-bench device-check --device cuda --dtype auto --steps 3 --config tiny</c>: the GPU silo's compute path on a
/// device, outside any cluster, as one short script for a lent GPU machine (and runnable on the CPU in bf16 here):
/// <list type="number">
/// <item>the target as a silo resolves it (<see cref="ComputeTargets.Resolve"/>), and what TorchSharp sees;</item>
/// <item>a forward on the target against the f32 CPU forward of the same weights (max |Δ logit|);</item>
/// <item>an inference engine on the target: greedy and sampled generation, tokens/s;</item>
/// <item>a GRPO trainer on the target (<see cref="PolicyTrainer.Create"/>: f32 master weights below f32): <c>--steps</c>
/// steps, loss, gradient norm and seconds per step, each finite;</item>
/// <item>the trainer's checkpoint loaded into an f32 CPU engine: its weights must equal the master weights exactly.</item>
/// </list>
/// Prints one JSON line; exit 0 when every check passed, 1 when one failed, 2 when the device is unavailable.
/// </summary>
public static class DeviceCheck
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var gpus = TorchRuntime.CudaDeviceCount();
        ComputeTarget target;
        try
        {
            target = ComputeTargets.Resolve(options.GetValueOrDefault("device", "cuda"), options.GetValueOrDefault("dtype", "auto"), gpus > 0 ? "cuda" : "cpu", gpus);
        }
        catch (Exception e) when (e is ComputeDeviceUnavailableException or ArgumentException)
        {
            Console.Error.WriteLine($"agentrl-bench device-check: {e.Message}");
            return 2;
        }

        var steps = Int("steps", 3);
        var config = ModelConfig.Named(options.GetValueOrDefault("config", "tiny")) with { VocabSize = 256, MaxPositionEmbeddings = 256 };
        var checks = new Dictionary<string, bool>(StringComparer.Ordinal);
        var report = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["target"] = target.ToString(),
            ["cuda_devices"] = gpus,
            ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "",
        };

        // 1. The same weights on the CPU in f32 and on the target.
        using var reference = new CausalLanguageModel(config);
        reference.InitializeWeights(0.02, seed: 0);
        reference.eval();
        var random = new Random(1);
        var ids = Enumerable.Range(0, 4 * 48).Select(_ => (long)random.Next(config.VocabSize)).ToArray();
        using (var onTarget = reference.CopyTo(target))
        using (no_grad())
        using (NewDisposeScope())
        {
            var cpuLogits = reference.forward(tensor(ids, [4, 48]));                                          // [4, 48, vocab]
            var targetLogits = onTarget.forward(tensor(ids, [4, 48], device: target.Device)).to_type(ScalarType.Float32).cpu();   // [4, 48, vocab]
            var delta = (cpuLogits - targetLogits).abs().max().item<float>();
            report["forward_max_abs_delta"] = delta;
            checks["forward_close_to_f32_cpu"] = float.IsFinite(delta) && delta < (target.IsReducedPrecision ? 0.1f : 1e-3f);
            checks["forward_on_target_device"] = onTarget.parameters().All(p => p.device_type == target.DeviceType && p.dtype == target.DType);
        }

        // 2. Generation on the target.
        using (var engine = new InferenceEngine(reference.CopyTo(target), 0))
        {
            var prompt = ids.Take(16).Select(t => (int)t).ToArray();
            var watch = Stopwatch.StartNew();
            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => engine.GenerateAsync(new GenerationRequest
            {
                PromptTokenIds = prompt,
                MaxNewTokens = 32,
                Temperature = i == 0 ? 0 : 1.0,
                TopP = i % 2 == 0 ? 1.0 : 0.9,
                Seed = i,
            })));
            var tokens = results.Sum(r => r.TokenIds.Length);
            report["generate_tokens_per_s"] = Math.Round(tokens / watch.Elapsed.TotalSeconds, 1);
            checks["generate_finite_logprobs"] = results.All(r => r.TokenIds.Length == 32 && r.LogProbs.All(l => float.IsFinite(l) && l <= 0));
        }

        // 3. Training on the target; 4. its checkpoint in an f32 CPU engine.
        var options2 = new TrainerOptions { Algorithm = "grpo", LearningRate = 1e-4, TokenBudget = 4096 };
        using var trainer = PolicyTrainer.Create(reference.CopyTo(ComputeTarget.Cpu), target, options2);
        var batch = ToyBatch(reference, config.VocabSize);
        var seconds = new List<double>();
        var finite = true;
        for (var step = 0; step < steps; step++)
        {
            var metrics = trainer.TrainStep(batch);
            seconds.Add(metrics.Seconds);
            finite &= double.IsFinite(metrics.Loss) && double.IsFinite(metrics.GradNorm) && metrics.OptimizerSteps > 0;
            report[$"step{step + 1}_loss"] = Math.Round(metrics.Loss, 6);
        }

        report["train_step_seconds"] = seconds.Select(s => Math.Round(s, 4)).ToArray();
        report["master_weights"] = trainer.MasterModel is not null;
        checks["train_finite"] = finite;
        checks["train_on_target_device"] = trainer.Model.parameters().All(p => p.device_type == target.DeviceType && p.dtype == target.DType);

        var directory = Directory.CreateTempSubdirectory("agentrl-device-check-").FullName;
        try
        {
            HfCheckpoint.Save(directory, trainer.Model.Config, trainer.Weights);
            var cpuModel = new CausalLanguageModel(config);
            using var cpuEngine = new InferenceEngine(cpuModel, 0);
            using (var checkpoint = HfCheckpoint.Open(directory))
            {
                var weights = checkpoint.Weights.ReadAll();
                await cpuEngine.LoadWeightsAsync(trainer.PolicyVersion, weights);
                foreach (var tensor in weights.Values)
                {
                    tensor.Dispose();
                }
            }

            using var scope = NewDisposeScope();
            var loaded = cpuModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            checks["checkpoint_to_f32_cpu_engine_exact"] = trainer.Weights.named_parameters().All(p => loaded[p.name].eq(p.parameter.cpu()).all().item<bool>());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        report["checks"] = checks;
        report["passed"] = checks.Values.All(v => v);
        Console.WriteLine(JsonSerializer.Serialize(report));
        return checks.Values.All(v => v) ? 0 : 1;
    }

    /// <summary>Eight random sequences of 64 tokens, the last 48 trained, old log-probs from the f32 CPU model, advantages ±1.</summary>
    private static TrainingExample[] ToyBatch(CausalLanguageModel model, int vocab)
    {
        var random = new Random(2);
        var sequences = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 64).Select(_ => random.Next(vocab)).ToArray()).ToArray();
        var scores = PolicyForward.ScoreToArrays(model, [.. sequences.Select(s => new TrainingSequence(s))]);
        return [.. sequences.Select((s, i) =>
        {
            var mask = s.Select((_, t) => (byte)(t >= 16 ? 1 : 0)).ToArray();
            var old = new float[s.Length];
            for (var t = 16; t < s.Length; t++)
            {
                old[t] = scores[i].LogProbs[t - 1];
            }

            return new TrainingExample(s, mask, old) { Advantage = i % 2 == 0 ? 1f : -1f };
        })];
    }
}
