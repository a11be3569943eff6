#!/usr/bin/env python3
"""Data-parallel LM training on one machine under bench/protocol.py: the same global batch
trained by one rank with all the cores' threads (garden lm train --threads C) against C ranks
of one thread each (garden launch --nproc C -- lm train), both through the trainer users
run. Reports tokens/s of each (median and spread over --reps fresh runs, alternating), the
share of rank 0's step time spent waiting in collectives (the loss sums and the part of the
gradient all-reduce that backward does not hide), the gradient bytes per step, and what
those figures predict for N machines.

    bench/data_parallel.py [--build-dir build] [--d-model 128] [--layers 4] [--seq 128] [--batch 16] [--steps 30] [--reps 5]

--batch is the global batch; each of the C ranks trains on batch / C rows. Both sides draw the
same windows of the built-in corpus from the same seed, so they must end on the same training
loss (checked before any figure is reported).
"""
import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402


def side(garden, launch_prefix, model_flags, batch, threads, out):
    """A shell command that trains and prints the run's results.json on one line."""
    command = [garden, *launch_prefix, "lm", "train", *model_flags, "--batch", str(batch), "--out", out]
    if threads:
        command += ["--threads", str(threads)]
    return ["sh", "-c", "%s >/dev/null 2>%s.log && tr -d '\\n' < %s/results.json && echo" % (shlex.join(command), out, out)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    cores = os.cpu_count() or 1
    if cores < 2:
        protocol.fail("data_parallel: needs at least 2 cores")
    if a.batch % cores != 0:
        protocol.fail("data_parallel: --batch %d must be a multiple of the %d ranks" % (a.batch, cores))
    garden = os.path.join(a.build_dir, "src", "garden", "garden")
    protocol.require("data_parallel", a.reps, garden)
    model_flags = ["--d-model", str(a.d_model), "--n-layers", str(a.layers), "--seq", str(a.seq), "--steps", str(a.steps),
                   "--warmup", "3", "--eval-every", "0", "--eval-windows", "8", "--checkpoint-every", "0", "--log-every", "10"]
    env = protocol.environment()
    one, many = "1 rank x %d threads" % cores, "%d ranks x 1 thread" % cores
    with tempfile.TemporaryDirectory() as work:
        sides = {one: side(garden, [], model_flags, a.batch, cores, os.path.join(work, "one")),
                 many: side(garden, ["launch", "--nproc", str(cores), "--"], model_flags, a.batch // cores, 0, os.path.join(work, "many"))}
        runs = protocol.alternate(sides, a.reps)
        with open(os.path.join(work, "one", "config.json")) as f:
            parameters = json.load(f)["parameters"]
    losses = {name: [r["train_loss"] for r in results] for name, results in runs.items()}
    if abs(statistics.median(losses[one]) - statistics.median(losses[many])) > 1e-3:
        protocol.fail("data_parallel: the sides end on different training losses %s: not the same work" % losses)
    tokens_per_step = a.batch * a.seq
    throughput = {name: [tokens_per_step * r["steps_done"] / r["step_seconds"] for r in results] for name, results in runs.items()}
    step_seconds = {name: [r["step_seconds"] / r["steps_done"] for r in results] for name, results in runs.items()}
    share = [r["collective_seconds"] / r["step_seconds"] for r in runs[many]]
    gradient_bytes = 4 * parameters
    compute = statistics.median(step_seconds[one])  # one machine's step on its whole batch

    # Ring all-reduce: every rank sends and receives 2 (N - 1) / N of the gradient bytes per
    # step. Without overlap a step costs compute + that over the link; backward hides part.
    predictions = []
    for link_name, bytes_per_second in (("1 Gb/s", 1e9 / 8), ("10 Gb/s", 10e9 / 8), ("100 Gb/s", 100e9 / 8)):
        for machines in (2, 4, 8, 16):
            traffic = 2 * (machines - 1) / machines * gradient_bytes
            seconds = traffic / bytes_per_second
            predictions.append({"link": link_name, "machines": machines, "all_reduce_seconds": seconds,
                                "efficiency_without_overlap": compute / (compute + seconds)})
    payload = {"bench": "data_parallel", "environment": env,
               "settings": {**vars(a), "cores": cores, "parameters": parameters, "tokens_per_step": tokens_per_step},
               "runs": runs, "tokens_per_second": {name: protocol.summary(v) for name, v in throughput.items()},
               "ratio": protocol.ratio_summary(throughput[many], throughput[one]),
               "collective_share": protocol.summary(share), "gradient_bytes": gradient_bytes, "predictions": predictions}
    path = protocol.save("data_parallel", payload)

    print("data-parallel LM training: d=%d, %d layers, seq %d, global batch %d (%d tokens a step), %d steps, %.2fM parameters"
          % (a.d_model, a.layers, a.seq, a.batch, tokens_per_step, a.steps, parameters / 1e6))
    for name in (one, many):
        s = protocol.summary(throughput[name])
        print("  %-22s %8.0f tokens/s (%.0f..%.0f, %d runs)" % (name, s["median"], s["min"], s["max"], s["n"]))
    r = payload["ratio"]
    print("  %s / %s: %.2fx (per round %.2f..%.2f)" % (many, one, r["median_ratio"], r["min"], r["max"]))
    print("  same work: final training loss %.5f and %.5f" % (statistics.median(losses[one]), statistics.median(losses[many])))
    c = payload["collective_share"]
    print("  rank 0 waited in collectives %.1f%% of its step time (%.1f..%.1f%%); gradient %.1f MB a step"
          % (100 * c["median"], 100 * c["min"], 100 * c["max"], gradient_bytes / 1e6))
    print("  predicted for N machines, each with this step (%.0f ms) on its own batch, ring all-reduce without overlap:" % (1000 * compute))
    for link in ("1 Gb/s", "10 Gb/s", "100 Gb/s"):
        row = [x for x in predictions if x["link"] == link]
        print("    %-8s " % link + "  ".join("N=%d: %.0f ms, %.0f%%" % (x["machines"], 1000 * x["all_reduce_seconds"],
                                                                       100 * x["efficiency_without_overlap"]) for x in row))
    print("raw results: %s" % os.path.relpath(path, protocol.ROOT))


if __name__ == "__main__":
    main()
