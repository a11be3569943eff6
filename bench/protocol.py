"""The measurement protocol garden's benchmarks share (stdlib only).

Each side of a comparison runs in a fresh process for every measurement, the sides alternate
(A B, then B A, ...) so neither always runs first on a warmer or cooler machine, and every
figure is repeated (at least 5 times) and reported as its median with its spread (smallest
to largest). Both sides get the same environment, including glibc's allocator settings
(garden raises its mmap and trim thresholds in-process; the peer gets the same values
through glibc's environment tunables). Each run's raw results go to bench/results/ as JSON
with the machine (lscpu), the library versions and the commit.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
PYTHON = "/usr/bin/python3"  # Debian's, the one python3-torch is installed for
# The settings core/runtime.cpp makes with mallopt, as glibc reads them from the environment
# (no mmap for large blocks; a trim threshold no heap reaches), so that a Python peer runs on
# the same allocator behaviour as garden.
ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 60)}


def blas_pin():
    """The OPENBLAS_CORETYPE that the garden binary pins for itself (core/runtime.h,
    use_known_blas_kernels): Haswell where OpenBLAS falls back to its Prescott kernels on a
    processor with AVX2 and FMA and nothing is set. Every side of a comparison gets it, so
    that a peer never runs on other kernels than garden."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return {}
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        return {}
    lib.openblas_get_corename.restype = ctypes.c_char_p
    flags = cpu_flags()
    if lib.openblas_get_corename().decode().lower() == "prescott" and "avx2" in flags and "fma" in flags:
        return {"OPENBLAS_CORETYPE": "Haswell"}
    return {}


def run_json(argv, env_extra=None):
    """Runs argv in a fresh process and returns the JSON object of its last stdout line.
    env_extra's values are added to the environment; a value of None removes the variable."""
    env = dict(os.environ)
    env.update(ALLOCATOR_ENV)
    env.update(blas_pin())
    for key, value in (env_extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit("benchmark side failed (%s): %s" % (" ".join(argv), done.stderr.strip()[-2000:]))
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise SystemExit("benchmark side printed nothing: %s" % " ".join(argv))
    return json.loads(lines[-1])


def alternate(sides, repetitions):
    """sides: {name: argv}. Runs every side `repetitions` times, alternating the order each
    round; returns {name: [result, ...]} in run order."""
    names = list(sides)
    results = {name: [] for name in names}
    for round_index in range(repetitions):
        order = names if round_index % 2 == 0 else list(reversed(names))
        for name in order:
            results[name].append(run_json(sides[name]))
    return results


def summary(values):
    """Median and spread (min, max) of a list of numbers."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def ratio_summary(ours, peers):
    """The ratio of medians, and the spread of the per-round ratios (round i's garden over
    round i's peer, both measured back to back)."""
    per_round = [a / b for a, b in zip(ours, peers)]
    return {"median_ratio": statistics.median(ours) / statistics.median(peers), "min": min(per_round), "max": max(per_round)}


def _command_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def environment():
    """The machine and software a result was measured on."""
    torch_version = _command_output([PYTHON, "-c", "import torch; print(torch.__version__)"])
    libtorch = _command_output(["dpkg-query", "-W", "-f=${Version}", "libtorch-dev"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _command_output(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"]),
        "lscpu": _command_output(["lscpu"]),
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "python_torch": torch_version,
        "libtorch_package": libtorch,
        "allocator_env": ALLOCATOR_ENV,
        # The BLAS's kernel choice (this workplace pins OPENBLAS_CORETYPE on some processors).
        "blas_env": {**{k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "BLIS_", "OMP_"))}, **blas_pin()},
    }


def save(bench, payload):
    """Writes bench/results/<bench>-<UTC date and time>.json and returns its path."""
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(RESULTS, "%s-%s.json" % (bench, stamp))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    return path


def cpu_flags():
    for line in (_command_output(["lscpu"]) or "").splitlines():
        if line.startswith("Flags:"):
            return set(line.split(":", 1)[1].split())
    return set()


def nominal_flops_per_cycle(flags):
    """Peak FLOPs per cycle per core, fp32 and bf16, from the vector extensions: two FMA
    pipes of the widest vector (AVX-512: 16 fp32 lanes x 2 FLOPs x 2 pipes = 64), and twice
    that in bf16 where the core has AVX512_BF16's dot products (pairs of bf16 per fp32 lane),
    or 1024 where it has AMX's bf16 tile products (TDPBF16PS: 16 x 16 x 32 multiply-adds,
    one per 16 cycles), which oneDNN, libtorch's bf16 path, uses. An assumption about the
    core (two full-width FMA pipes, as on Zen 5 and Intel's server cores), stated in every
    report that uses it."""
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    fp32 = lanes * 2 * 2
    bf16 = 1024 if "amx_bf16" in flags else 2 * fp32 if "avx512_bf16" in flags else fp32
    return fp32, bf16


def require(bench, reps, *binaries):
    """Stops with a one-line error unless reps meets the protocol's minimum and every
    benchmark binary is built."""
    if reps < 5:
        fail("%s: --reps must be at least 5 (the protocol's minimum)" % bench)
    for binary in binaries:
        if not os.access(binary, os.X_OK):
            fail("%s: %s is not built (cmake -DGARDEN_BUILD_BENCH=ON)" % (bench, binary))


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)
