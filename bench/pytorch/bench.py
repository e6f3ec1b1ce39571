"""PyTorch eager reference for agentrl-bench: the same Llama-style models and the same work, one JSON line per run.

    python3 bench/pytorch/bench.py generate --config tiny --batch 16 --prompt-len 32 --new-tokens 96 --runs 5
    python3 bench/pytorch/bench.py train --config tiny --batch 16 --seq-len 128 --runs 5

generate: prefill the prompts in one pass, then decode new-tokens steps with a KV cache, sampling at temperature 1 and
computing each sampled token's logprob and the full-vocabulary entropy (what InferenceEngine returns per token).
train: forward + backward + AdamW step of a masked token-level policy-gradient loss (-A * logprob over the last 3/4 of
each row), as agentrl-bench train does.
--threads sets torch threads (default 2), --blas-threads OpenBLAS's own pool (default 1); the two pools do not
know of each other, so their product should not exceed the cores. Needs python3-torch (Debian: apt-get install python3-torch, which is
PyTorch 1.13; libopenblas0-pthread makes OpenBLAS its BLAS).
"""

import argparse
import json
import math
import os
import sys
import time

# OpenBLAS reads its thread count when it loads, so --blas-threads is applied before torch is imported.
if "--blas-threads" in sys.argv:
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[sys.argv.index("--blas-threads") + 1]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

CONFIGS = {
    "tiny": dict(vocab=512, hidden=128, layers=4, heads=4, kv_heads=2, mlp=384, positions=256),
    "small": dict(vocab=4096, hidden=256, layers=6, heads=8, kv_heads=4, mlp=768, positions=512),
}


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, positions, theta=10000.0):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
    freqs = torch.outer(torch.arange(positions).float(), inv)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads = c["heads"], c["kv_heads"]
        self.head_dim = c["hidden"] // c["heads"]
        self.q_proj = nn.Linear(c["hidden"], self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c["hidden"], self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c["hidden"], self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, c["hidden"], bias=False)

    def forward(self, x, cos, sin, cache=None, start=0):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:   # preallocated [batch, kv_heads, positions, head_dim] keys and values
            cache[0][:, :, start:start + t] = k
            cache[1][:, :, start:start + t] = v
            k, v = cache[0][:, :, :start + t], cache[1][:, :, :start + t]
        s = k.shape[2]
        groups = self.heads // self.kv_heads   # grouped-query attention by broadcasting, no copy of k/v
        q = q.reshape(b, self.kv_heads, groups * t, self.head_dim)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))   # [b, kv, groups*t, s]
        if t > 1:
            mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t).repeat(groups, 1)
            scores = scores.masked_fill(~mask, float("-inf"))
        out = (scores.softmax(-1) @ v).view(b, self.heads, t, self.head_dim)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden"])
        self.gate_proj = nn.Linear(c["hidden"], c["mlp"], bias=False)
        self.up_proj = nn.Linear(c["hidden"], c["mlp"], bias=False)
        self.down_proj = nn.Linear(c["mlp"], c["hidden"], bias=False)

    def forward(self, x, cos, sin, cache=None, start=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, start)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["hidden"])
        cos, sin = rope_tables(c["hidden"] // c["heads"], c["positions"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, start=0, caches=None):
        t = ids.shape[1]
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]
        x = self.embed_tokens(ids)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], start)
        return self.norm(x) @ self.embed_tokens.weight.t()   # tied embeddings


def generate_once(model, c, batch, prompt_len, new_tokens, seed, prompt_gen):
    prompts = torch.randint(0, c["vocab"], (batch, prompt_len), generator=prompt_gen)
    sampler = torch.Generator().manual_seed(seed)
    head_dim = c["hidden"] // c["heads"]
    shape = (batch, c["kv_heads"], prompt_len + new_tokens, head_dim)
    caches = [[torch.empty(shape), torch.empty(shape)] for _ in range(c["layers"])]
    tokens, logprobs, entropies = [], [], []
    with torch.inference_mode():
        logits = model(prompts, 0, caches)[:, -1]
        position = prompt_len
        for _ in range(new_tokens):
            logp = torch.log_softmax(logits.float(), dim=-1)           # temperature 1
            probs = logp.exp()
            token = torch.multinomial(probs, 1, generator=sampler)     # [batch, 1]
            logprobs.append(logp.gather(1, token))
            entropies.append(-(probs * logp).sum(-1))
            tokens.append(token)
            logits = model(token, position, caches)[:, -1]
            position += 1
        result = torch.cat(tokens, 1), torch.cat(logprobs, 1), torch.stack(entropies, 1)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["generate", "train"])
    parser.add_argument("--config", default="tiny", choices=sorted(CONFIGS))
    parser.add_argument("--batch", type=int)
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=96)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS's own threads (OPENBLAS_NUM_THREADS)")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = CONFIGS[a.config]
    batch = a.batch or (1 if a.mode == "generate" else 16)
    model = Llama(c)
    parameters = sum(p.numel() for p in model.parameters())
    times = []
    if a.mode == "generate":
        model.eval()
        prompt_gen = torch.Generator().manual_seed(1)
        for run in range(-1, a.runs):
            start = time.perf_counter()
            tokens, _, _ = generate_once(model, c, batch, a.prompt_len, a.new_tokens, run * batch + 1000, prompt_gen)
            elapsed = time.perf_counter() - start
            assert tokens.shape == (batch, a.new_tokens)
            if run >= 0:
                times.append(elapsed)
        tokens_per_run = batch * a.new_tokens
    else:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        gen = torch.Generator().manual_seed(2)
        ids = torch.randint(0, c["vocab"], (batch, a.seq_len), generator=gen)
        mask = (torch.arange(a.seq_len) >= a.seq_len // 4).float().expand(batch, -1)[:, 1:]
        advantages = (torch.rand(batch, 1, generator=gen) * 2 - 1)
        for run in range(-1, a.runs):
            start = time.perf_counter()
            optimizer.zero_grad()
            logits = model(ids[:, :-1])
            logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            loss = -(logp * advantages * mask).sum() / mask.sum()
            loss.backward()
            optimizer.step()
            elapsed = time.perf_counter() - start
            if run >= 0:
                times.append(elapsed)
        tokens_per_run = batch * a.seq_len
    median = sorted(times)[len(times) // 2]   # as agentrl-bench: the upper median
    print(json.dumps({
        "mode": a.mode, "config": a.config, "batch": batch, "threads": a.threads,
        "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")), "parameters": parameters,
        "runs": a.runs, "engine": f"pytorch {torch.__version__}", "median_s": round(median, 5),
        "tokens_per_s": round(tokens_per_run / median, 1), "best_tokens_per_s": round(tokens_per_run / min(times), 1),
        "run_s": [round(t, 5) for t in times],
    }))


if __name__ == "__main__":
    main()
