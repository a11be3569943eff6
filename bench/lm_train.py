#!/usr/bin/env python3
"""LM training throughput: garden's Trainer step against the same model and step in
PyTorch-Python, under bench/protocol.py (fresh processes, alternating order, median and spread
of --reps repetitions, raw results in bench/results/).

    bench/lm_train.py [--bench-binary build/bench/garden_bench_lm] [--reps 5] [--threads 2]

Both sides start from garden's initial weights and train on the same token batches
(`garden_bench_lm prepare`); before any timing their losses on batch 0 must agree (1e-4 in
fp32, 2e-2 under bf16 autocast), else the benchmark stops. Model-FLOPs utilisation is given
against the matmul rate measured at the model's own shapes with the products garden's
linear layers run (`garden_bench_lm gemm --products garden`: oneDNN, model/onednn_linear.h) and
against the nominal peak: cores x FLOPs per cycle (protocol.nominal_flops_per_cycle) x the
clock measured by a dependent-addition chain (`garden_bench_lm clock`, best of 5). The
assumption behind FLOPs per cycle is checked on the machine at hand: `garden_bench_lm peak`
measures what the counted instructions reach with their operands in registers, on every
thread at once, and the report prints it beside the nominal figure.

Each row also gives the ceiling of a same-kernels comparison: the ratio garden / PyTorch that
a step made of nothing but its products, at the rate measured at the model's shapes, would
reach against the peer's measured step (that GEMM rate over the peer's effective rate, the
model's FLOPs per token times its tokens/s). The rate is measured with operands warm in cache,
so inside a step the products run slower and the ceiling is generous.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

SIZES = [(128, 2, 4), (256, 4, 4), (512, 6, 8)]  # d, layers, heads
SEQ, BATCH, VOCAB = 128, 8, 259
TOLERANCE = {"fp32": 1e-4, "bf16": 2e-2}


def flops_per_token(d, layers):
    """Training FLOPs per token: 6 per non-embedding parameter (12 C^2 per layer), attention
    scores and values 12 L C T (PaLM, appendix B), and the tied head's 6 C V."""
    return 6 * layers * 12 * d * d + 12 * layers * d * SEQ + 6 * d * VOCAB


def per_cycle_text(value):
    return "%.0f" % value if value is not None else "(not measured on this core)"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench-binary", default=os.path.join(protocol.ROOT, "build", "bench", "garden_bench_lm"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=8)
    a = p.parse_args()
    if a.steps < 1 or a.warmup < 0:
        protocol.fail("lm_train: --steps must be >= 1 and --warmup >= 0")
    protocol.require("lm_train", a.reps, a.bench_binary)
    peer = os.path.join(protocol.ROOT, "bench", "peers", "lm_train_peer.py")
    binary = a.bench_binary
    env = protocol.environment()  # before any measurement: the commit and machine the run starts from
    flags = protocol.cpu_flags()
    per_cycle = protocol.nominal_flops_per_cycle(flags)
    # The best of several: the core's clock is a ceiling that contention on this shared machine
    # can only hide (a dip once measured 2.15 GHz, under what the bf16 products then achieved).
    clock = max(protocol.run_json([binary, "clock"])["ghz"] for _ in range(5))
    nominal = {"fp32": a.threads * per_cycle[0] * clock * 1e9, "bf16": a.threads * per_cycle[1] * clock * 1e9}
    # FLOPs per cycle above is an assumption about the core; this measures it on these threads.
    measured_per_cycle = protocol.run_json([binary, "peak", "--threads", str(a.threads)])
    print("LM training, batch %d x seq %d, %d warm-up + %d timed steps per process, %d fresh processes per side "
          "(alternating), %d threads" % (BATCH, SEQ, a.warmup, a.steps, a.reps, a.threads))
    print("nominal peak: %d cores x %d (fp32) / %d (bf16) FLOPs per cycle x %.2f GHz (measured) = %.0f / %.0f GFLOP/s"
          % (a.threads, per_cycle[0], per_cycle[1], clock, nominal["fp32"] / 1e9, nominal["bf16"] / 1e9))
    print("checked: with operands in registers, FMA reaches %s fp32 FLOPs per cycle per core and AVX512_BF16's dot "
          "product %s bf16 (`garden_bench_lm peak`, %d threads at once; AMX's tiles are not measured)\n"
          % (per_cycle_text(measured_per_cycle["fp32_flops_per_cycle"]), per_cycle_text(measured_per_cycle["bf16_flops_per_cycle"]),
             a.threads))
    print("| model | dtype | garden tok/s | PyTorch tok/s | garden / PyTorch | GEMM at model shapes | MFU vs GEMM | MFU vs nominal "
          "| ceiling garden / PyTorch | peak RSS garden / PyTorch | batch-0 loss garden / PyTorch |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for d, layers, heads in SIZES:
            init = os.path.join(work, "d%d.safetensors" % d)
            shape = ["--d", str(d), "--layers", str(layers), "--heads", str(heads)]
            protocol.run_json([binary, "prepare", *shape, "--seq", str(SEQ), "--batch", str(BATCH),
                               "--batches", str(a.warmup + a.steps), "--out", init])
            for dtype in ("fp32", "bf16"):
                bf16 = ["--bf16"] if dtype == "bf16" else []
                common = [*shape, "--warmup", str(a.warmup), "--steps", str(a.steps), "--threads", str(a.threads), *bf16]
                sides = {"garden": [binary, "run", "--init", init, *common],
                         "pytorch": [protocol.PYTHON, peer, "--init", init, *common]}
                results = protocol.alternate(sides, a.reps)
                losses = {name: [r["step0_loss"] for r in rs] for name, rs in results.items()}
                gap = abs(losses["garden"][0] - losses["pytorch"][0])
                if gap > TOLERANCE[dtype]:
                    protocol.fail("lm_train: d=%d %s: batch-0 losses differ by %.2e (garden %.6f, PyTorch %.6f): the sides "
                                  "do not compute the same model" % (d, dtype, gap, losses["garden"][0], losses["pytorch"][0]))
                gemm = statistics.median(protocol.run_json([binary, "gemm", "--d", str(d), "--layers", str(layers), "--seq",
                                                            str(SEQ), "--batch", str(BATCH), "--threads", str(a.threads),
                                                            "--products", "garden", *bf16])["gflops"] for _ in range(3)) * 1e9
                tps = {name: [r["tokens_per_second"] for r in rs] for name, rs in results.items()}
                rss = {name: max(r["peak_rss_mb"] for r in rs) for name, rs in results.items()}
                ours, theirs = protocol.summary(tps["garden"]), protocol.summary(tps["pytorch"])
                ratio = protocol.ratio_summary(tps["garden"], tps["pytorch"])
                work_per_second = ours["median"] * flops_per_token(d, layers)
                peer_work_per_second = theirs["median"] * flops_per_token(d, layers)
                row = {"d": d, "layers": layers, "heads": heads, "dtype": dtype, "garden": ours, "pytorch": theirs,
                       "ratio": ratio, "gemm_gflops": gemm / 1e9, "mfu_vs_gemm": work_per_second / gemm,
                       "mfu_vs_nominal": work_per_second / nominal[dtype],
                       "ceiling_ratio": gemm / peer_work_per_second, "peak_rss_mb": rss,
                       "step0_loss": {name: v[0] for name, v in losses.items()},
                       "final_loss": {name: statistics.median(r["final_loss"] for r in rs) for name, rs in results.items()},
                       "raw": results}
                rows.append(row)
                print("| d=%d L=%d | %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2fx (%.2f-%.2f) | %.0f GFLOP/s | %.0f%% | %.0f%% "
                      "| %.2fx | %.0f / %.0f MB | %.5f / %.5f |" % (
                          d, layers, dtype, ours["median"], ours["min"], ours["max"], theirs["median"], theirs["min"],
                          theirs["max"], ratio["median_ratio"], ratio["min"], ratio["max"], gemm / 1e9,
                          100 * row["mfu_vs_gemm"], 100 * row["mfu_vs_nominal"], row["ceiling_ratio"], rss["garden"], rss["pytorch"],
                          losses["garden"][0], losses["pytorch"][0]), flush=True)
    path = protocol.save("lm_train", {"bench": "lm_train", "environment": env, "threads": a.threads, "reps": a.reps,
                                      "warmup": a.warmup, "steps": a.steps, "batch": BATCH, "seq": SEQ,
                                      "clock_ghz": clock, "flops_per_cycle": {"fp32": per_cycle[0], "bf16": per_cycle[1]},
                                      "measured_flops_per_cycle": {"fp32": measured_per_cycle["fp32_flops_per_cycle"],
                                                                   "bf16": measured_per_cycle["bf16_flops_per_cycle"]},
                                      "rows": rows})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


if __name__ == "__main__":
    main()
