#!/usr/bin/env python3
"""Generation throughput under bench/protocol.py: garden against llama.cpp (its C API on the
library node-llama-cpp ships, bench/peers/llama_cpp_peer.cpp) and PyTorch in Python
(bench/peers/generation_peer.py), on the same model: the shared base LM (garden lm base),
exported to GGUF in f32 for llama.cpp.

    bench/generation.py [--build-dir build] [--threads 2] [--rounds 5] [--reps 5]

Workloads: single, one greedy completion of 128 tokens (single-stream decode); batched, 64
completions of 64 tokens sampled at temperature 1 from one prompt (the pass@k workload of the
RLVR paper). Every engine runs each workload in --reps fresh processes (the engines
alternating); a process warms up once and times --rounds rounds of the whole workload
(prefill + every decode step), and its figure is the median of its rounds. The single-stream
greedy tokens must equal garden's for PyTorch and for llama.cpp with f32 attention, else the
row says NO (a faster wrong answer does not count); llama.cpp at its own defaults (f16
kv-cache, flash attention) is a row too. Last, garden's two workloads run again in processes
alternating back to back, for the ratio of batched to single-stream tokens/s pair by pair;
their tokens, greedy and sampled, must equal the table's garden tokens.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

WORKLOADS = [("single: 1 x 128 greedy", "single", 128, 1), ("batched: 64 x 64 sampled", "batched", 64, 64)]


def process_rates(results, tokens):
    """Each process's figure: the median of its rounds' tokens/s."""
    return [statistics.median(tokens / s for s in r["seconds"]) for r in results]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    if a.rounds < 1 or a.threads < 1:
        protocol.fail("generation: --rounds and --threads must be at least 1")
    garden = os.path.join(a.build_dir, "bench", "garden_bench_generation")
    protocol.require("generation", a.reps, garden)
    python_peer = os.path.join(protocol.ROOT, "bench", "peers", "generation_peer.py")
    env = protocol.environment()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        setup = protocol.run_json([garden, "prepare", work])
        print("Generation throughput, base LM (%d parameters), prompt of %d tokens, %d threads; %d fresh processes per "
              "engine (alternating), each a warm-up and %d timed rounds\n"
              % (setup["parameters"], len(setup["prompt_ids"].split(",")), a.threads, a.reps, a.rounds))
        print("| workload | engine | tokens/s | garden / engine | same greedy tokens | peak RSS |")
        print("| --- | --- | ---: | ---: | --- | ---: |")
        def workload_args(mode, new, n):
            return [mode, setup["prompt_ids"], str(new), str(n), str(a.threads), str(a.rounds)]

        garden_tokens = {}  # each workload's tokens from garden's first process in the table
        for name, mode, new, n in WORKLOADS:
            args = workload_args(mode, new, n)
            sides = {"garden": [garden, "run", setup["model"], *args],
                     "PyTorch (Python)": [protocol.PYTHON, python_peer, setup["model"], *args]}
            if setup["llama_peer"]:
                for attention, label in (("exact", "llama.cpp (f32 attention)"), ("defaults", "llama.cpp (its defaults)")):
                    sides[label] = [setup["llama_peer"], setup["gguf"], setup["llama_backends"], *args, attention]
            runs = protocol.alternate(sides, a.reps)
            rates = {side: process_rates(rs, new * n) for side, rs in runs.items()}
            reference = runs["garden"][0]["tokens"]
            garden_tokens[mode] = reference
            row = {"workload": name, "engines": {}}
            for side, rs in runs.items():
                complete = all(len(r["tokens"]) == n and all(len(t) == new for t in r["tokens"]) for r in rs)
                if not complete:
                    same = "INCOMPLETE"
                elif n > 1:
                    same = "(sampled)"
                else:
                    same = "yes" if all(r["tokens"] == reference for r in rs) else "NO"
                    if same == "NO" and side == "llama.cpp (its defaults)":
                        same = "no (f16 attention)"
                summary = protocol.summary(rates[side])
                ratio = protocol.ratio_summary(rates["garden"], rates[side])
                peak = max(r["peak_rss_bytes"] for r in rs) / 1e6
                row["engines"][side] = {"tokens_per_second": summary, "garden_over_engine": ratio, "same_tokens": same,
                                        "peak_rss_mb": peak}
                print("| %s | %s | %.0f (%.0f-%.0f) | %s | %s | %.0f MB |" % (
                    name, side, summary["median"], summary["min"], summary["max"],
                    "-" if side == "garden" else "%.2fx (%.2f-%.2f)" % (ratio["median_ratio"], ratio["min"], ratio["max"]),
                    same, peak), flush=True)
            rows.append(row)
        # The goal compares garden's two workloads, which the table measures minutes
        # apart, while this machine's single stream moves by 20-30% between hours: here the
        # two run in processes alternating back to back, and each pair gives a ratio.
        paired = protocol.alternate({mode: [garden, "run", setup["model"], *workload_args(mode, new, n)]
                                     for _, mode, new, n in WORKLOADS}, a.reps)
        paired_rates = {mode: process_rates(paired[mode], new * n) for _, mode, new, n in WORKLOADS}
        # Sampling draws from per-sample seeds, so the sampled tokens repeat exactly too.
        for mode, rs in paired.items():
            if any(r["tokens"] != garden_tokens[mode] for r in rs):
                protocol.fail("generation: garden's %s tokens in the pairs differ from the table's" % mode)
        scaling = protocol.ratio_summary(paired_rates["batched"], paired_rates["single"])
        print("\ngarden's batched over its single stream, %d pairs of processes back to back: %.2fx (%.2f-%.2f); "
              "single %.0f, batched %.0f tokens/s" % (a.reps, scaling["median_ratio"], scaling["min"], scaling["max"],
                                                      statistics.median(paired_rates["single"]),
                                                      statistics.median(paired_rates["batched"])))
    if not setup["llama_peer"]:
        print("\nllama.cpp: not built (node-llama-cpp is not installed in tests/clients; scripts/setup installs it)")
    path = protocol.save("generation", {"bench": "generation", "environment": env, "threads": a.threads, "rounds": a.rounds,
                                        "reps": a.reps, "parameters": setup["parameters"], "rows": rows,
                                        "batched_over_single": {"ratio": scaling,
                                                                "tokens_per_second": {m: protocol.summary(r) for m, r in
                                                                                      paired_rates.items()}}})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


if __name__ == "__main__":
    main()
