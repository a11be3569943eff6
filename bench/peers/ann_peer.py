"""Peer of garden's `hnsw` index in bench/ann.py: hnswlib's Python binding (Debian
python3-hnswlib, whose module is built for any x86-64: SSE only), with the same build (M=16,
efConstruction=200, seed 0, points in order, one thread, index saved to a file) and the same
JSON lines as `garden_bench_ann garden build|search`.

usage: ann_peer.py build SET_DIR INDEX
       ann_peer.py search SET_DIR INDEX EFS
"""
import json
import os
import sys
import time

import hnswlib
import numpy as np
from process_stats import peak_resident_bytes, resident_bytes

TOP = 10


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if not ((mode == "build" and len(sys.argv) == 4) or (mode == "search" and len(sys.argv) == 5)):
        sys.exit("usage: ann_peer.py build SET_DIR INDEX | search SET_DIR INDEX EFS")
    folder, path = sys.argv[2], sys.argv[3]
    if mode == "build":
        base = np.load(os.path.join(folder, "base.npy"))
        start = time.perf_counter()
        graph = hnswlib.Index(space="ip", dim=base.shape[1])
        graph.init_index(max_elements=base.shape[0], ef_construction=200, M=16, random_seed=0)
        graph.add_items(base, np.arange(base.shape[0]), num_threads=1)
        graph.save_index(path)
        print(json.dumps({"build_seconds": time.perf_counter() - start, "disk_bytes": os.path.getsize(path),
                          "peak_rss_bytes": peak_resident_bytes()}))
        return
    efs = [int(x) for x in sys.argv[4].split(",")]
    queries = np.load(os.path.join(folder, "queries.npy"))
    before = resident_bytes()
    index = hnswlib.Index(space="ip", dim=queries.shape[1])
    index.load_index(path)
    out = {"ram_bytes": resident_bytes() - before}
    points = []
    for ef in efs:
        index.set_ef(max(ef, TOP))
        index.knn_query(queries, k=TOP, num_threads=1)  # warm-up, as every side does
        start = time.perf_counter()
        labels, _ = index.knn_query(queries, k=TOP, num_threads=1)
        points.append({"ef": ef, "seconds": time.perf_counter() - start, "ids": labels.astype(int).tolist()})
    out["points"] = points
    out["peak_rss_bytes"] = peak_resident_bytes()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
