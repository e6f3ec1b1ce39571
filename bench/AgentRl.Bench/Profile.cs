using System.Diagnostics;
using AgentRl.Policy.Generation;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Bench;

/// <summary>CPU time per decoding step split into parts (batch 1), to find per-token overhead.</summary>
internal static class Profile
{
    public static void Run(CausalLanguageModel model)
    {
        using var noGrad = no_grad();
        model.FuseForInference();
        using var cache = new KvCache(model.Config);
        var x = ones(1, 128);
        Measure("200 small adds", 50, () =>
        {
            using var scope = NewDisposeScope();
            for (var i = 0; i < 200; i++)
            {
                x.add(1.0);
            }
        });
        var h = randn(1, 1, 128);
        var w = randn(256, 128);
        Measure("linear 128->256", 300, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.linear(h, w);
        });
        var q = randn(1, 2, 2, 32);
        var k = randn(1, 2, 64, 32);
        Measure("sdpa decode", 300, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.scaled_dot_product_attention(q, k, k);
        });
        var big = randn(64, 2, 256, 32);
        var kv = big.narrow(0, 0, 1).narrow(2, 0, 100);
        Measure("sdpa decode, cache view T=100", 300, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.scaled_dot_product_attention(q, kv, kv);
        });
        var kc = kv.contiguous();
        Measure("sdpa decode, contiguous T=100", 300, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.scaled_dot_product_attention(q, kc, kc);
        });
        Measure("manual decode, cache view T=100", 300, () =>
        {
            using var scope = NewDisposeScope();
            q.matmul(kv.transpose(2, 3)).mul(0.17).softmax(-1).matmul(kv);
        });
        var newK = randn(1, 2, 1, 32);
        Measure("cache write (narrow narrow copy)", 300, () =>
        {
            using var scope = NewDisposeScope();
            big.narrow(0, 0, 1).narrow(2, 50, 1).copy_(newK);
        });
        Measure("manual attention decode", 300, () =>
        {
            using var scope = NewDisposeScope();
            q.matmul(k.transpose(2, 3)).mul(0.17).softmax(-1).matmul(k);
        });
        var norm = new RmsNorm(128, 1e-6, CPU, ScalarType.Float32);
        Measure("rmsnorm", 300, () =>
        {
            using var scope = NewDisposeScope();
            norm.forward(h);
        });
        var cos = randn(1, 1, 1, 32);
        var qk = randn(1, 4, 1, 32);
        Measure("rope", 300, () =>
        {
            using var scope = NewDisposeScope();
            RotaryEmbedding.Apply(qk, cos, cos);
        });
        var position = 0L;
        Measure("prefill 32", 20, () =>
        {
            using var scope = NewDisposeScope();
            model.ForwardCached(zeros([1, 32], dtype: ScalarType.Int64), cache, [0], [32]);
            position = 32;
        });
        Measure("decode step (model)", 300, () =>
        {
            using var scope = NewDisposeScope();
            if (position >= 120)
            {
                position = 32;
            }

            model.ForwardCached(zeros([1, 1], dtype: ScalarType.Int64), cache, [position], [1]);
            position++;
        });
        var one = zeros([1, 1], dtype: ScalarType.Int64);
        Measure("forward [1,1] no cache", 300, () =>
        {
            using var scope = NewDisposeScope();
            model.forward(one);
        });
        var layer = new DecoderLayer(model.Config, 0, CPU, ScalarType.Float32);
        var (c1, s1) = new RotaryEmbedding(32, 10000, 64, CPU, ScalarType.Float32).ForRange(1);
        var hid = randn(1, 1, 128);
        Measure("one layer [1,1] no cache", 300, () =>
        {
            using var scope = NewDisposeScope();
            layer.forward(hid, new AttentionInputs { Cos = c1, Sin = s1 });
        });
        var attn = new SelfAttention(model.Config, 0, CPU, ScalarType.Float32);
        Measure("attention [1,1] no cache", 300, () =>
        {
            using var scope = NewDisposeScope();
            attn.forward(hid, new AttentionInputs { Cos = c1, Sin = s1 });
        });
        var lin = nn.Linear(128, 128, hasBias: false);
        Measure("Linear module forward", 300, () =>
        {
            using var scope = NewDisposeScope();
            lin.forward(hid);
        });
        Measure("view+transpose", 300, () =>
        {
            using var scope = NewDisposeScope();
            hid.view(1, 1, 4, 32).transpose(1, 2);
        });
        Measure("size calls x10", 300, () =>
        {
            for (var i = 0; i < 10; i++)
            {
                hid.size(1);
            }
        });
        var mlp = new Mlp(model.Config, CPU, ScalarType.Float32);
        Measure("mlp", 300, () =>
        {
            using var scope = NewDisposeScope();
            mlp.forward(hid);
        });
        var emb = nn.Embedding(512, 128);
        Measure("embedding", 300, () =>
        {
            using var scope = NewDisposeScope();
            emb.forward(one);
        });
        Measure("embedding weight getter + linear", 300, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.linear(hid, emb.weight!);
        });
        using var cache16 = new KvCache(model.Config);
        model.ForwardCached(zeros([16, 32], dtype: ScalarType.Int64), cache16, Enumerable.Repeat(0L, 16).ToArray(), Enumerable.Repeat(32L, 16).ToArray());
        var position16 = 32L;
        var ones16 = Enumerable.Repeat(1L, 16).ToArray();
        Measure("decode step batch 16 (model)", 200, () =>
        {
            using var scope = NewDisposeScope();
            if (position16 >= 120)
            {
                position16 = 32;
            }

            model.ForwardCached(zeros([16, 1], dtype: ScalarType.Int64), cache16, Enumerable.Repeat(position16, 16).ToArray(), ones16);
            position16++;
        });
        var ids16 = zeros([16, 1], dtype: ScalarType.Int64);
        Measure("forward b16 [16,1] no cache", 200, () =>
        {
            using var scope = NewDisposeScope();
            model.forward(ids16);
        });
        var layer16 = new DecoderLayer(model.Config, 0, CPU, ScalarType.Float32);
        var hid16 = randn(16, 1, 128);
        var (c16, s16) = new RotaryEmbedding(32, 10000, 64, CPU, ScalarType.Float32).ForRange(1);
        Measure("layer b16 no cache", 200, () =>
        {
            using var scope = NewDisposeScope();
            layer16.forward(hid16, new AttentionInputs { Cos = c16, Sin = s16 });
        });
        var mlp16 = new Mlp(model.Config, CPU, ScalarType.Float32);
        Measure("mlp b16", 200, () =>
        {
            using var scope = NewDisposeScope();
            mlp16.forward(hid16);
        });
        var attn16 = new SelfAttention(model.Config, 0, CPU, ScalarType.Float32);
        Measure("attention b16 no cache", 200, () =>
        {
            using var scope = NewDisposeScope();
            attn16.forward(hid16, new AttentionInputs { Cos = c16, Sin = s16 });
        });
        var norm16 = new RmsNorm(128, 1e-6, CPU, ScalarType.Float32);
        Measure("norm b16", 200, () =>
        {
            using var scope = NewDisposeScope();
            norm16.forward(hid16);
        });
        var q16 = randn(16, 2, 2, 32);
        var big16 = randn(64, 2, 256, 32);
        var kv16 = big16.narrow(0, 0, 16).narrow(2, 0, 100);
        Measure("sdpa b16 cache view", 200, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.scaled_dot_product_attention(q16, kv16, kv16);
        });
        Measure("manual b16 cache view", 200, () =>
        {
            using var scope = NewDisposeScope();
            q16.matmul(kv16.transpose(2, 3)).mul(0.17).softmax(-1).matmul(kv16);
        });
        var h16 = randn(16, 1, 128);
        var w16 = randn(256, 128);
        Measure("linear b16", 200, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.linear(h16, w16);
        });
        var wv = randn(512, 128);
        Measure("logits b16", 200, () =>
        {
            using var scope = NewDisposeScope();
            nn.functional.linear(h16, wv);
        });
        var new16 = randn(16, 2, 1, 32);
        Measure("cache write b16", 200, () =>
        {
            using var scope = NewDisposeScope();
            big16.narrow(0, 0, 16).narrow(2, 50, 1).copy_(new16);
        });
        position16 = 32;
        Measure("decode step batch 16, T in 32..40", 200, () =>
        {
            using var scope = NewDisposeScope();
            if (position16 >= 40)
            {
                position16 = 32;
            }

            model.ForwardCached(zeros([16, 1], dtype: ScalarType.Int64), cache16, Enumerable.Repeat(position16, 16).ToArray(), ones16);
            position16++;
        });
        var logits16 = randn(16, model.Config.VocabSize);
        var rows16 = Enumerable.Range(0, 16).Select(_ => new SamplingRow(1.0, 0, 1.0, 0, 0.5)).ToArray();
        Measure("sampler batch 16", 200, () => BatchSampler.Sample(logits16, rows16));
        var logits = randn(1, model.Config.VocabSize);
        Measure("sampler", 300, () => BatchSampler.Sample(logits, [new SamplingRow(1.0, 0, 1.0, 0, 0.5)]));
    }

    private static void Measure(string name, int count, Action action)
    {
        for (var i = 0; i < 5; i++)
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
