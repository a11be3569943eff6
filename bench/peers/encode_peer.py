"""The PyTorch peer of bench/encode.py: garden's embedder (the base LM with bidirectional
attention and mean pooling) written in plain PyTorch the way a Python user would, under
torch.inference_mode, on the weights of the same model folder. Same work as garden's
encode_token_rows: the rows of DIR/rows.json sorted by length (stably), batches of BATCH,
right-padded, padding keys masked, mean over the real tokens, unit length; with ANCE's head
(EMBEDDER_DIR given: the embedder folder holding its weights), then g = LN(W h + b), the
vectors as they are (scored by inner product).

  encode_peer.py DIR MODEL_DIR BATCH THREADS ROUNDS [EMBEDDER_DIR]

Prints one JSON line: {"seconds": [per pass], "sample": the vectors of the first 16 rows,
"peak_rss_bytes"}, after one warm-up pass.
"""
import json
import math
import sys
import time

import torch
from generation_peer import Model, load
from process_stats import peak_resident_bytes

SAMPLE = 16


class Encoder(Model):
    ance_head = None  # ANCE's head (not the LM head the base class keeps as self.head): {"projection.weight", "projection.bias", "projection_norm.weight", "projection_norm.bias"}

    def encode(self, tokens, real):  # tokens, real: [B, T]; real = 1 for a token, 0 for padding
        b, t = tokens.shape
        x = self.w["token_embedding.weight"][tokens]
        # A key is seen when it is real; a padding query sees itself too, so no row is empty.
        allowed = real.bool()[:, None, None, :] | torch.eye(t, dtype=torch.bool)[None, None]
        for i in range(self.c["n_layers"]):
            p = f"blocks.{i}."
            q, k, v = self.qkv(x, p, 0)
            if self.kv_heads != self.heads:
                k = k.repeat_interleave(self.heads // self.kv_heads, 1)
                v = v.repeat_interleave(self.heads // self.kv_heads, 1)
            scores = (q @ k.transpose(-2, -1) / math.sqrt(self.d)).masked_fill(~allowed, float("-inf"))
            o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, self.heads * self.d)
            x = self.mlp(x + o @ self.w[p + "attention.o.weight"].T, p)
        x = self.rms(x, "final_norm.rms.weight")
        weights = real.float()[:, :, None]
        pooled = torch.nn.functional.normalize((x * weights).sum(1) / weights.sum(1), dim=-1)
        if self.ance_head is None:
            return pooled
        z = pooled @ self.ance_head["projection.weight"].T + self.ance_head["projection.bias"]
        return torch.nn.functional.layer_norm(z, (z.shape[-1],), self.ance_head["projection_norm.weight"], self.ance_head["projection_norm.bias"], 1e-5)


def encode_all(model, rows, pad, batch):
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    dims = model.ance_head["projection.weight"].shape[0] if model.ance_head is not None else model.c["d_model"]
    out = torch.empty(len(rows), dims)
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        longest = max(len(rows[i]) for i in chunk)
        tokens = torch.full((len(chunk), longest), pad, dtype=torch.long)
        real = torch.zeros(len(chunk), longest, dtype=torch.long)
        for r, i in enumerate(chunk):
            tokens[r, : len(rows[i])] = torch.tensor(rows[i])
            real[r, : len(rows[i])] = 1
        out[chunk] = model.encode(tokens, real)
    return out


def main():
    folder, model_dir, batch, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    with open(f"{folder}/rows.json") as f:
        data = json.load(f)
    config, weights = load(model_dir)
    model = Encoder(config, weights)
    if len(sys.argv) > 6:
        _, embedder_weights = load(sys.argv[6])
        model.ance_head = {k: v for k, v in embedder_weights.items() if k.startswith("projection")}
    with torch.inference_mode():
        encode_all(model, data["rows"], data["pad_id"], batch)  # warm-up
        seconds = []
        for _ in range(rounds):
            start = time.perf_counter()
            vectors = encode_all(model, data["rows"], data["pad_id"], batch)
            seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "sample": vectors[:SAMPLE].tolist(), "peak_rss_bytes": peak_resident_bytes()}))


if __name__ == "__main__":
    main()
