"""The PyTorch peer of bench/generation.py: the same garden model (read from its model
folder: config.json and model.safetensors) decoded with a kv-cache in plain PyTorch, the way a
Python user would write it, under torch.inference_mode.

  generation_peer.py MODEL_DIR single|batched PROMPT_IDS NEW N THREADS ROUNDS

single: one greedy completion of NEW tokens; batched: N completions of NEW tokens sampled at
temperature 1 from one prompt, prefilled once and its cache repeated N times. Prints one JSON
line: {"seconds": [per round], "tokens": [the first round's completion(s)], "peak_rss_bytes"}. A round covers
the prompt's prefill and every decode step, as garden's timed region does. Only the
architecture garden exports to llama.cpp is supported: RMSNorm, RoPE, SwiGLU, no gate.
"""
import json
import math
import struct
import sys
import time

import torch
from process_stats import peak_resident_bytes


def load(model_dir):
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)["model"]
    with open(f"{model_dir}/model.safetensors", "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        begin, end = entry["data_offsets"]
        weights[name] = torch.frombuffer(bytearray(data[8 + n + begin : 8 + n + end]), dtype=torch.float32).view(entry["shape"])
    for key, value in (("norm", "rmsnorm"), ("pos", "rope"), ("mlp", "swiglu"), ("attention_gate", "none")):
        assert config.get(key, value) == value, f"{key}={config.get(key)} is not supported by this peer"
    return config, weights


class Model:
    def __init__(self, config, w):
        self.c, self.w = config, w
        self.heads = config["n_heads"]
        self.kv_heads = config.get("n_kv_heads", 0) or self.heads
        self.d = config["d_model"] // self.heads
        self.eps = config.get("norm_eps", 1e-5)
        half = self.d // 2
        inv_freq = config.get("rope_base", 10000.0) ** (-torch.arange(half, dtype=torch.float64) / half)
        angles = torch.arange(config["max_seq"] + 1024, dtype=torch.float64)[:, None] * inv_freq[None, :]
        self.cos = torch.cat([angles.cos(), angles.cos()], -1).float()
        self.sin = torch.cat([angles.sin(), angles.sin()], -1).float()
        self.head = w.get("lm_head.weight", w["token_embedding.weight"])

    def rms(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w[name]

    def rope(self, x, offset):  # x: [B, H, T, D]
        t = x.shape[2]
        cos, sin = self.cos[offset : offset + t], self.sin[offset : offset + t]
        x1, x2 = x[..., : self.d // 2], x[..., self.d // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def qkv(self, x, p, offset):
        """Block p's queries, keys (both rotated from position offset) and values: [B, H, T, D]."""
        b, t, _ = x.shape
        h = self.rms(x, p + "norm_attention.rms.weight")
        q = (h @ self.w[p + "attention.q.weight"].T).view(b, t, self.heads, self.d).transpose(1, 2)
        k = (h @ self.w[p + "attention.k.weight"].T).view(b, t, self.kv_heads, self.d).transpose(1, 2)
        v = (h @ self.w[p + "attention.v.weight"].T).view(b, t, self.kv_heads, self.d).transpose(1, 2)
        return self.rope(q, offset), self.rope(k, offset), v

    def mlp(self, x, p):
        """Block p's SwiGLU, added to the residual stream."""
        h = self.rms(x, p + "norm_mlp.rms.weight")
        gate = torch.nn.functional.silu(h @ self.w[p + "mlp.in.weight"].T)
        return x + (gate * (h @ self.w[p + "mlp.up.weight"].T)) @ self.w[p + "mlp.down.weight"].T

    def forward(self, tokens, cache):  # tokens: [B, T]; cache: list of [k, v] per layer
        b, t = tokens.shape
        offset = cache[0][0].shape[2] if cache[0][0] is not None else 0
        x = self.w["token_embedding.weight"][tokens]
        for i in range(self.c["n_layers"]):
            p = f"blocks.{i}."
            q, k, v = self.qkv(x, p, offset)
            if cache[i][0] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = [k, v]
            if self.kv_heads != self.heads:
                k = k.repeat_interleave(self.heads // self.kv_heads, 1)
                v = v.repeat_interleave(self.heads // self.kv_heads, 1)
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
            if t > 1:
                s = k.shape[2]
                future = torch.arange(s)[None, :] > (torch.arange(t)[:, None] + offset)
                scores = scores.masked_fill(future, float("-inf"))
            o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, self.heads * self.d)
            x = self.mlp(x + o @ self.w[p + "attention.o.weight"].T, p)
        return self.rms(x[:, -1], "final_norm.rms.weight") @ self.head.T  # [B, V]


def run(model, prompt, new, n, greedy, generator):
    cache = [[None, None] for _ in range(model.c["n_layers"])]
    logits = model.forward(torch.tensor([prompt]), cache).expand(n, -1)
    cache = [[k.repeat(n, 1, 1, 1), v.repeat(n, 1, 1, 1)] for k, v in cache]
    out = []
    for step in range(new):
        if greedy:
            token = logits.argmax(-1, keepdim=True)
        else:
            token = torch.multinomial(logits.softmax(-1), 1, generator=generator)
        out.append(token)
        if step + 1 < new:
            logits = model.forward(token, cache)
    return torch.cat(out, 1).tolist()


def main():
    model_dir, mode, prompt_ids, new, n, threads, rounds = sys.argv[1:8]
    torch.set_num_threads(int(threads))
    prompt = [int(x) for x in prompt_ids.split(",")]
    new, rounds = int(new), int(rounds)
    n = 1 if mode == "single" else int(n)
    model = Model(*load(model_dir))
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        run(model, prompt, new, n, mode == "single", generator)  # warm-up
        seconds, first = [], None
        for _ in range(rounds):
            start = time.perf_counter()
            tokens = run(model, prompt, new, n, mode == "single", generator)
            seconds.append(time.perf_counter() - start)
            first = first or tokens
    print(json.dumps({"seconds": seconds, "tokens": first, "peak_rss_bytes": peak_resident_bytes()}))


if __name__ == "__main__":
    main()
