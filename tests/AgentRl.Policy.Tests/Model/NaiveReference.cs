using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Model;

/// <summary>
/// A second, deliberately plain implementation of the Llama / Qwen2 forward pass written from the Hugging Face
/// modeling code (repeat_kv, explicit softmax with a causal mask, rotate_half), reading the weights by their names.
/// </summary>
internal static class NaiveReference
{
    public static Tensor Logits(CausalLanguageModel model, ModelConfig config, Tensor ids)
    {
        var w = model.state_dict();
        var seq = ids.size(1);
        var heads = config.NumAttentionHeads;
        var kvHeads = config.KeyValueHeads;
        var headDim = config.HeadDim;
        var hidden = w["model.embed_tokens.weight"].index_select(0, ids.reshape(-1)).unsqueeze(0);   // [1, seq, hidden]

        var inverse = ones(headDim / 2).div(pow(config.RopeTheta, arange(0, headDim, 2).to_type(ScalarType.Float32).div(headDim)));   // [head_dim / 2]
        var angles = outer(arange(seq, dtype: ScalarType.Float32), inverse);   // [seq, head_dim / 2]
        var cos = cat([angles, angles], -1).cos();                               // [seq, head_dim]
        var sin = cat([angles, angles], -1).sin();                               // [seq, head_dim]
        var causal = ones(seq, seq).tril().eq(0);                                // [seq, seq] true above the diagonal

        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var p = $"model.layers.{layer}.";
            var x = Norm(hidden, w[p + "input_layernorm.weight"], config.RmsNormEps);   // [1, seq, hidden]
            var q = Project(x, w, p + "self_attn.q_proj").view(seq, heads, headDim).transpose(0, 1);     // [heads, seq, head_dim]
            var k = Project(x, w, p + "self_attn.k_proj").view(seq, kvHeads, headDim).transpose(0, 1);   // [kv_heads, seq, head_dim]
            var v = Project(x, w, p + "self_attn.v_proj").view(seq, kvHeads, headDim).transpose(0, 1);   // [kv_heads, seq, head_dim]
            q = q.mul(cos).add(RotateHalf(q).mul(sin));
            k = k.mul(cos).add(RotateHalf(k).mul(sin));
            k = k.repeat_interleave(heads / kvHeads, 0);                         // [heads, seq, head_dim]
            v = v.repeat_interleave(heads / kvHeads, 0);                         // [heads, seq, head_dim]
            var scores = q.matmul(k.transpose(1, 2)).div(Math.Sqrt(headDim)).masked_fill(causal, double.NegativeInfinity);   // [heads, seq, seq]
            var attended = scores.softmax(-1).matmul(v).transpose(0, 1).reshape(1, seq, heads * headDim);                    // [1, seq, heads * head_dim]
            hidden = hidden.add(attended.matmul(w[p + "self_attn.o_proj.weight"].t()));
            var y = Norm(hidden, w[p + "post_attention_layernorm.weight"], config.RmsNormEps);   // [1, seq, hidden]
            var gate = y.matmul(w[p + "mlp.gate_proj.weight"].t());
            var up = y.matmul(w[p + "mlp.up_proj.weight"].t());
            var act = gate.mul(gate.sigmoid()).mul(up);                          // [1, seq, intermediate]
            hidden = hidden.add(act.matmul(w[p + "mlp.down_proj.weight"].t()));
        }

        hidden = Norm(hidden, w["model.norm.weight"], config.RmsNormEps);
        var head = w.TryGetValue("lm_head.weight", out var h) ? h : w["model.embed_tokens.weight"];
        return hidden.matmul(head.t());                                          // [1, seq, vocab]
    }

    private static Tensor Norm(Tensor x, Tensor weight, double eps) =>
        x.div(x.pow(2).mean([-1L], keepdim: true).add(eps).sqrt()).mul(weight);

    private static Tensor Project(Tensor x, Dictionary<string, Tensor> w, string name)
    {
        var y = x.matmul(w[name + ".weight"].t());
        return w.TryGetValue(name + ".bias", out var bias) ? y.add(bias) : y;
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.size(-1) / 2;
        return cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
    }
}
