"""Peer of bench/lm_train_bench.cpp `run`: the same model and training step in PyTorch-Python.

Pre-norm LayerNorm, learned positions, GELU MLP (4C), tied embeddings, no biases in the
linear layers, attention written as softmax(QK^T/sqrt(D) + causal mask) V (what garden does;
torch 1.13 has no fused SDPA). It loads garden's initial weights and token batches from the
file `garden_bench_lm prepare` wrote, so both sides start from the same point and see the
same batches, and takes the same step as garden's Trainer: AdamW (0.9, 0.95) with weight
decay 0.1 on matrices only, in its fastest form (foreach=True), gradient clipping at 1.0 and
the cosine schedule's learning rate set every step. Prints one JSON line like garden's side.
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from process_stats import peak_resident_bytes

VOCAB = 259
DTYPES = {"F32": np.float32, "I64": np.int64}


def load_safetensors(path):
    """The format is an 8-byte header length, a JSON header, then raw little-endian bytes."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.norm1 = nn.LayerNorm(c)
        self.q = nn.Linear(c, c, bias=False)
        self.k = nn.Linear(c, c, bias=False)
        self.v = nn.Linear(c, c, bias=False)
        self.o = nn.Linear(c, c, bias=False)
        self.norm2 = nn.LayerNorm(c)
        self.fc = nn.Linear(c, 4 * c, bias=False)
        self.proj = nn.Linear(4 * c, c, bias=False)

    def forward(self, x, allowed):
        b, t, c = x.shape
        d = c // self.h
        y = self.norm1(x)
        q = self.q(y).view(b, t, self.h, d).transpose(1, 2)
        k = self.k(y).view(b, t, self.h, d).transpose(1, 2)
        v = self.v(y).view(b, t, self.h, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        att = att.masked_fill(~allowed, float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, c))
        return x + self.proj(F.gelu(self.fc(self.norm2(x))))


class GPT(nn.Module):
    def __init__(self, c, layers, heads, seq):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, c)
        self.wpe = nn.Embedding(seq, c)
        self.blocks = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(c)

    def forward(self, tokens):
        t = tokens.shape[1]
        allowed = torch.ones(t, t, dtype=torch.bool).tril()
        x = self.wte(tokens) + self.wpe(torch.arange(t))
        for block in self.blocks:
            x = block(x, allowed)
        return F.linear(self.norm(x), self.wte.weight)

    def load_garden(self, tensors):
        """garden's parameter names -> this module's."""
        names = {"token_embedding.weight": "wte.weight", "position_embedding.weight": "wpe.weight",
                 "final_norm.layer.weight": "norm.weight", "final_norm.layer.bias": "norm.bias"}
        for i in range(len(self.blocks)):
            g, p = "blocks.%d." % i, "blocks.%d." % i
            names.update({g + "norm_attention.layer.weight": p + "norm1.weight", g + "norm_attention.layer.bias": p + "norm1.bias",
                          g + "norm_mlp.layer.weight": p + "norm2.weight", g + "norm_mlp.layer.bias": p + "norm2.bias",
                          g + "mlp.in.weight": p + "fc.weight", g + "mlp.down.weight": p + "proj.weight"})
            for m in "qkvo":
                names[g + "attention.%s.weight" % m] = p + "%s.weight" % m
        state = {names[k[len("model."):]]: v for k, v in tensors.items() if k.startswith("model.")}
        missing = set(self.state_dict()) - set(state)
        if missing:
            raise SystemExit("lm_train_peer: the init file lacks %s" % sorted(missing))
        self.load_state_dict(state)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--init", required=True)
    p.add_argument("--d", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    tensors = load_safetensors(a.init)
    tokens = tensors["tokens"]
    n_batches, batch, seq = tokens.shape[0], tokens.shape[1], tokens.shape[2] - 1
    model = GPT(a.d, a.layers, a.heads, seq)
    model.load_garden(tensors)
    decay = [q for q in model.parameters() if q.dim() >= 2]
    no_decay = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8, foreach=True)

    def loss_of(rows):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(rows[:, :-1])
        return F.cross_entropy(logits.float().reshape(-1, VOCAB), rows[:, 1:].reshape(-1))

    with torch.no_grad():
        step0_loss = loss_of(tokens[0]).item()
    total = a.warmup + a.steps
    step_ms = []
    final_loss = 0.0
    for step in range(1, total + 1):
        start = time.perf_counter()
        # garden's cosine schedule with no warmup, to a floor of 0.1 x lr.
        lr = 1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=False)
        loss = loss_of(tokens[(step - 1) % n_batches])
        final_loss = loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step > a.warmup:
            step_ms.append(1e3 * (time.perf_counter() - start))
    tokens_per_second = a.steps * batch * seq / (sum(step_ms) / 1e3)
    peak_rss_mb = peak_resident_bytes() / 2**20
    print(json.dumps({"tokens_per_second": tokens_per_second, "step0_loss": step0_loss, "step_ms": step_ms,
                      "final_loss": final_loss, "peak_rss_mb": peak_rss_mb}))


if __name__ == "__main__":
    main()
