using System.Diagnostics;
using AgentRl.Policy.Generation;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Bench;

/// <summary>CPU and wall time of the parts of a decoding step, to find per-token overhead.</summary>
internal static class Profile
{
    public static void Run(CausalLanguageModel model)
    {
        using var noGrad = no_grad();
        model.FuseForInference();
        var config = model.Config;
        var x = ones(1, 128);
        Measure("200 small adds", 50, () =>
        {
            using var scope = NewDisposeScope();
            for (var i = 0; i < 200; i++)
            {
                x.add(1.0);
            }
        });

        foreach (var batch in new[] { 1, 16 })
        {
            using var cache = new KvCache(config);
            var zerosStart = new long[batch];
            var prompt = Enumerable.Repeat(32L, batch).ToArray();
            var ones = Enumerable.Repeat(1L, batch).ToArray();
            Measure($"b{batch} prefill 32", 10, () =>
            {
                using var scope = NewDisposeScope();
                model.ForwardCached(zeros([batch, 32], dtype: ScalarType.Int64), cache, zerosStart, prompt);
            });
            var position = 32L;
            foreach (var (label, maxBatch) in new[] { ("torch", 0), ("managed", 64) })
            {
                model.CpuDecodeMaxBatch = maxBatch;
                Measure($"b{batch} decode step, {label}", 100, () =>
                {
                    using var scope = NewDisposeScope();
                    position = position >= 120 ? 32 : position + 1;
                    model.ForwardCached(zeros([batch, 1], dtype: ScalarType.Int64), cache, Enumerable.Repeat(position, batch).ToArray(), ones);
                });
            }

            model.CpuDecodeMaxBatch = 0;
            var ids = zeros([batch, 1], dtype: ScalarType.Int64);
            Measure($"b{batch} forward, no cache", 100, () =>
            {
                using var scope = NewDisposeScope();
                model.forward(ids);
            });
            var hidden = randn(batch, 1, config.HiddenSize);
            var layer = new DecoderLayer(config, 0, CPU, ScalarType.Float32);
            using var rotary = new RotaryEmbedding(config.HeadDim, config.RopeTheta, 64, CPU, ScalarType.Float32);
            var (cos, sin) = rotary.ForRange(1);
            Measure($"b{batch} one layer, no cache", 100, () =>
            {
                using var scope = NewDisposeScope();
                layer.forward(hidden, new AttentionInputs { Cos = cos, Sin = sin });
            });
            var mlp = new Mlp(config, CPU, ScalarType.Float32);
            Measure($"b{batch} mlp", 100, () =>
            {
                using var scope = NewDisposeScope();
                mlp.forward(hidden);
            });
            Measure($"b{batch} logits", 100, () =>
            {
                using var scope = NewDisposeScope();
                model.Logits(hidden);
            });
            var logits = randn(batch, config.VocabSize);
            var rows = Enumerable.Range(0, batch).Select(_ => new SamplingRow(1.0, 0, 1.0, 0, 0.5)).ToArray();
            Measure($"b{batch} sampler", 100, () => BatchSampler.Sample(logits, rows));
        }
    }

    private static void Measure(string name, int count, Action action)
    {
        for (var i = 0; i < 3; i++)
        {
            action();
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            action();
        }

        var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / count;
        Console.WriteLine($"{name}: {watch.Elapsed.TotalMilliseconds * 1000 / count:F1} us wall, {cpuUs:F1} us cpu");
    }
}
