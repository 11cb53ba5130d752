"""FAISS side of bench/search-vs-faiss.ts: an IVF fast-scan index + IndexRefineFlat, built
once, then measured on request so that the caller interleaves FAISS with its own systems.

Usage:
  search_server.py info
      one JSON line: version, get_compile_options(), omp max threads.
  search_server.py serve DIR METRIC FACTORY BUILD_THREADS INDEX_OUT
      DIR holds base.fvecs, query.fvecs, groundtruth.ivecs (row i: the exact neighbours of
      query i, nearest first; only the first len(groundtruth) queries are measured).
      METRIC cosine (L2 on L2-normalised base and queries) or l2. FACTORY e.g.
      "IVF1024,PQ50x4fs": wrapped in IndexRefineFlat. Trains and adds with BUILD_THREADS
      OpenMP threads, writes the index to INDEX_OUT (for the memory child), prints one JSON
      line (build times, version, compile options), then searches with ONE thread.
      Each stdin line "search NPROBE KFACTOR" is answered by one JSON line: recall@10, QPS
      and the 99th-percentile latency of the queries searched one at a time (one
      index.search call of one row each); "batch NPROBE KFACTOR THREADS": every query of
      query.fvecs in one index.search call on THREADS OpenMP threads (QPS); "quit" (or end
      of input) ends.
  search_server.py memory INDEX QUERIES_F32 D METRIC NPROBE KFACTOR
      a fresh process: /proc/self/status before and after faiss.read_index(INDEX), and after
      searching every query of QUERIES_F32 (raw float32, D per row) one at a time; the peak
      of RssAnon + RssShmem during read_index, polled every millisecond by a thread (the
      read releases the GIL), and VmHWM after resetting it (/proc/self/clear_refs) before
      the read. One JSON line.
"""
import json
import os
import sys
import threading
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from vecs import fvecs, ivecs  # noqa: E402

K = 10


def info():
    return {"version": faiss.__version__, "compile_options": faiss.get_compile_options(),
            "omp_max_threads": faiss.omp_get_max_threads()}


def status():
    """The memory lines of /proc/self/status, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB" and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return {k: out.get(k) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")}


def owned(s):
    return s["RssAnon"] + s["RssShmem"]


def serve(root, metric, factory, build_threads, index_out):
    base = fvecs(os.path.join(root, "base.fvecs"))
    all_queries = fvecs(os.path.join(root, "query.fvecs"))
    gt = ivecs(os.path.join(root, "groundtruth.ivecs"))[:, :K]
    queries = np.ascontiguousarray(all_queries[: gt.shape[0]])
    if metric == "cosine":
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
        faiss.normalize_L2(all_queries)
    elif metric != "l2":
        raise SystemExit(f"metric must be cosine or l2, got {metric}")
    d = base.shape[1]
    faiss.omp_set_num_threads(build_threads)
    ivf = faiss.index_factory(d, factory)
    index = faiss.IndexRefineFlat(ivf)
    t0 = time.perf_counter()
    index.train(base)
    t1 = time.perf_counter()
    index.add(base)
    t2 = time.perf_counter()
    faiss.write_index(index, index_out)
    del base
    faiss.omp_set_num_threads(1)
    print(json.dumps({"system": "faiss", "version": faiss.__version__, "compile_options": faiss.get_compile_options(), "config": f"{factory} + IndexRefineFlat", "metric": metric,
                      "build_threads": build_threads, "search_threads": 1, "train_s": t1 - t0, "add_s": t2 - t1,
                      "build_s": t2 - t0, "nb": int(index.ntotal), "nq": int(queries.shape[0]),
                      "index_bytes": os.path.getsize(index_out)}), flush=True)
    ivf_index = faiss.extract_index_ivf(ivf)
    truth = [set(row.tolist()) for row in gt]
    nq = queries.shape[0]
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "batch" and len(words) == 4:
            ivf_index.nprobe = int(words[1])
            index.k_factor = int(words[2])
            faiss.omp_set_num_threads(int(words[3]))
            t = time.perf_counter()
            index.search(all_queries, K)
            secs = time.perf_counter() - t
            faiss.omp_set_num_threads(1)
            print(json.dumps({"nq": int(all_queries.shape[0]), "threads": int(words[3]), "qps": all_queries.shape[0] / secs}), flush=True)
            continue
        if words[0] != "search" or len(words) != 3:
            print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
            continue
        nprobe, kf = int(words[1]), int(words[2])
        ivf_index.nprobe = nprobe
        index.k_factor = kf
        found = np.empty((nq, K), dtype=np.int64)
        lat = np.empty(nq)
        t = time.perf_counter()
        for i in range(nq):
            t1 = time.perf_counter()
            _, ids = index.search(queries[i:i + 1], K)
            found[i] = ids[0]
            lat[i] = time.perf_counter() - t1
        secs = time.perf_counter() - t
        recall = sum(len(truth[i].intersection(found[i].tolist())) for i in range(nq)) / (K * nq)
        print(json.dumps({"nprobe": nprobe, "k_factor": kf, "recall10": recall, "qps": nq / secs,
                          "p99_ms": float(np.percentile(lat, 99)) * 1000}), flush=True)


def memory(index_path, queries_path, d, metric, nprobe, kf):
    faiss.omp_set_num_threads(1)
    queries = np.fromfile(queries_path, dtype=np.float32).reshape(-1, d)
    if metric == "cosine":
        faiss.normalize_L2(queries)
    peak = {"owned": 0, "samples": 0}
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak["owned"] = max(peak["owned"], owned(status()))
            peak["samples"] += 1
            time.sleep(0.001)

    before = status()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    t0 = time.perf_counter()
    index = faiss.read_index(index_path)
    open_s = time.perf_counter() - t0
    done.set()
    poller.join()
    after_open = status()
    faiss.extract_index_ivf(index).nprobe = nprobe
    faiss.downcast_index(index).k_factor = kf
    t1 = time.perf_counter()
    for i in range(queries.shape[0]):
        index.search(queries[i:i + 1], K)
    work_s = time.perf_counter() - t1
    after = status()
    print(json.dumps({"nb": int(index.ntotal), "before": before, "after_open": after_open, "after_workload": after,
                      "peak_owned_open": max(peak["owned"], owned(after_open)), "peak_samples": peak["samples"],
                      "open_s": open_s, "workload_s": work_s, "nq": int(queries.shape[0])}), flush=True)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "info":
        print(json.dumps(info()), flush=True)
    elif cmd == "serve":
        a = sys.argv[2:]
        serve(a[0], a[1], a[2], int(a[3]), a[4])
    elif cmd == "memory":
        a = sys.argv[2:]
        memory(a[0], a[1], int(a[2]), a[3], int(a[4]), int(a[5]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
