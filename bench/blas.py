#!/usr/bin/env python3
"""Which BLAS kernels run garden's fp32 matrix products fastest here, under bench/protocol.py.

    bench/blas.py [--bench-binary build/bench/garden_bench_lm] [--reps 5] [--threads 2]

Debian's libtorch calls the generic libblas.so.3, which the alternatives system points at
one implementation (scripts/setup installs OpenBLAS), and OpenBLAS picks its kernels by the
CPU, unless OPENBLAS_CORETYPE names them. This benchmark runs `garden_bench_lm gemm
--training` (the forward product and both backward products of every matrix of the LM
benchmark's models, weighted by their FLOPs) under each variant in fresh processes, the
variants alternating:

- OpenBLAS as the environment configures it (OPENBLAS_CORETYPE, if set, as it is);
- OpenBLAS choosing for itself (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed for that
  process only);
- BLIS, where libblis4-openmp is installed (LD_LIBRARY_PATH picks it), with its own choice
  and with its SkylakeX kernels (BLIS_ARCH_TYPE=0 in BLIS 0.9).

Each process reports the libraries it mapped and OpenBLAS's kernels, and every variant's
products must match float64 to 1e-5 relative (bf16: 1e-2). bf16 products do not go through
BLAS in libtorch 1.13 (oneDNN does them); their rows show that the choice leaves them alone.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

LIBDIR = "/usr/lib/x86_64-linux-gnu"
SIZES = [(128, 2), (256, 4), (512, 6)]  # d, layers: the LM benchmark's models
SEQ, BATCH = 128, 8


def variants(threads):
    """name -> (extra environment, the library folder the process must map)."""
    openblas, blis = os.path.join(LIBDIR, "openblas-openmp"), os.path.join(LIBDIR, "blis-openmp")
    found = {}
    if os.path.exists(os.path.join(openblas, "libblas.so.3")):
        found["OpenBLAS, as configured"] = ({"LD_LIBRARY_PATH": openblas}, openblas)
        found["OpenBLAS, own choice"] = ({"LD_LIBRARY_PATH": openblas, "OPENBLAS_CORETYPE": None,
                                          "OPENBLAS_L2_SIZE": None}, openblas)
    if os.path.exists(os.path.join(blis, "libblas.so.3")):
        # BLIS runs on one thread unless told otherwise.
        found["BLIS, own choice"] = ({"LD_LIBRARY_PATH": blis, "BLIS_NUM_THREADS": str(threads)}, blis)
        found["BLIS, SkylakeX"] = ({"LD_LIBRARY_PATH": blis, "BLIS_NUM_THREADS": str(threads), "BLIS_ARCH_TYPE": "0"}, blis)
    return found


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench-binary", default=os.path.join(protocol.ROOT, "build", "bench", "garden_bench_lm"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    protocol.require("blas", a.reps, a.bench_binary)
    found = variants(a.threads)
    if len(found) < 2:
        protocol.fail("blas: no OpenBLAS under %s (scripts/setup installs it)" % LIBDIR)
    env = protocol.environment()
    names = list(found)
    base = names[0]
    print("products at the LM benchmark's shapes (%d rows; forward and both backward products), %d threads, "
          "%d fresh processes per variant (alternating)\n" % (SEQ * BATCH, a.threads, a.reps))
    print("| model | dtype | " + " | ".join("%s GFLOP/s" % n for n in names) + " | " +
          " | ".join("%s / %s" % (n, base) for n in names[1:]) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in names) + " | " + " | ".join("---:" for _ in names[1:]) + " |")
    rows, kernels = [], {}
    for d, layers in SIZES:
        for dtype in ("fp32", "bf16"):
            argv = [a.bench_binary, "gemm", "--training", "--d", str(d), "--layers", str(layers), "--seq", str(SEQ),
                    "--batch", str(BATCH), "--threads", str(a.threads)] + (["--bf16"] if dtype == "bf16" else [])
            runs = {name: [] for name in names}
            for round_index in range(a.reps):
                for name in names if round_index % 2 == 0 else list(reversed(names)):
                    extra, library = found[name]
                    result = protocol.run_json(argv, extra)
                    if not any(path.startswith(library) and "libblas" in path for path in result["blas"]):
                        protocol.fail("blas: the %s run mapped %s, not %s" % (name, result["blas"], library))
                    limit = 1e-5 if dtype == "fp32" else 1e-2
                    if result["max_relative_error"] > limit:
                        protocol.fail("blas: %s: %s products off by %.2e relative" % (name, dtype, result["max_relative_error"]))
                    kernels[name] = result["openblas_kernels"] if "OpenBLAS" in name else name
                    runs[name].append(result)
            rates = {name: [r["gflops"] for r in rs] for name, rs in runs.items()}
            row = {"d": d, "layers": layers, "dtype": dtype, "gflops": {n: protocol.summary(v) for n, v in rates.items()},
                   "ratio": {n: protocol.ratio_summary(rates[n], rates[base]) for n in names[1:]},
                   "max_relative_error": {n: max(r["max_relative_error"] for r in rs) for n, rs in runs.items()}}
            rows.append(row)
            cells = ["%.0f (%.0f-%.0f)" % (row["gflops"][n]["median"], row["gflops"][n]["min"], row["gflops"][n]["max"]) for n in names]
            ratios = ["%.2fx (%.2f-%.2f)" % (row["ratio"][n]["median_ratio"], row["ratio"][n]["min"], row["ratio"][n]["max"])
                      for n in names[1:]]
            print("| d=%d L=%d | %s | %s | %s |" % (d, layers, dtype, " | ".join(cells), " | ".join(ratios)), flush=True)
    print("\nOpenBLAS kernels: " + ", ".join("%s: %s" % (n, k) for n, k in kernels.items() if "OpenBLAS" in n)
          + "; OPENBLAS_CORETYPE in this environment: %s" % os.environ.get("OPENBLAS_CORETYPE", "(not set)"))
    path = protocol.save("blas", {"bench": "blas", "environment": env, "threads": a.threads, "reps": a.reps,
                                  "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                                  "variants": {n: found[n][0] for n in names}, "openblas_kernels": kernels, "rows": rows})
    print("raw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


if __name__ == "__main__":
    main()
