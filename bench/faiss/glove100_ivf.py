"""FAISS 1.7.3 IVF-PQ + IndexRefineFlat on glove100, one thread, one query at a time.

Usage: /usr/bin/python3 bench/faiss/glove100_ivf.py DATASET_DIR NLIST M NPROBES KFACTORS
(NPROBES and KFACTORS comma-separated). Vectors are L2-normalised (angular metric, L2 on
unit vectors, as vqlite). Prints one JSON line per (nprobe, k_factor) with recall@10 and
QPS, and one with the build time (train + add) and bytes per vector of the IVF-PQ part
(codes + ids; the refine index keeps the float vectors in RAM too).
"""
import json
import os
import sys
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from vecs import load_eval_set  # noqa: E402


def main():
    root, nlist, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    nprobes = [int(v) for v in sys.argv[4].split(",")]
    kfactors = [int(v) for v in sys.argv[5].split(",")]
    faiss.omp_set_num_threads(1)
    base, queries, gt = load_eval_set(root)
    d = base.shape[1]
    t0 = time.time()
    ivf = faiss.index_factory(d, f"IVF{nlist},PQ{m}")
    index = faiss.IndexRefineFlat(ivf)
    index.train(base)
    index.add(base)
    build = time.time() - t0
    print(json.dumps({"system": "faiss", "version": faiss.__version__, "config": f"IVF{nlist},PQ{m},RFlat",
                      "build_s": build, "bytes_per_vector_ivfpq": m + 8}), flush=True)
    ivf_ps = faiss.extract_index_ivf(ivf)
    for nprobe in nprobes:
        ivf_ps.nprobe = nprobe
        for kf in kfactors:
            index.k_factor = kf
            found = np.empty((len(queries), 10), dtype=np.int64)
            t = time.time()
            for i in range(len(queries)):
                _, ids = index.search(queries[i:i + 1], 10)
                found[i] = ids[0]
            secs = time.time() - t
            recall = float(np.mean([len(set(found[i]) & set(gt[i])) / 10 for i in range(len(gt))]))
            print(json.dumps({"system": "faiss", "config": f"IVF{nlist},PQ{m},RFlat", "nprobe": nprobe, "k_factor": kf,
                              "recall10": recall, "qps": len(queries) / secs}), flush=True)


if __name__ == "__main__":
    main()
