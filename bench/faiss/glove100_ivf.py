"""FAISS 1.7.3 IVF-PQ + IndexRefineFlat on glove100, one thread, one query at a time.

Usage: /usr/bin/python3 bench/faiss/glove100_ivf.py DATASET_DIR NLIST M
Builds IVF{NLIST},PQ{M} wrapped in IndexRefineFlat on the L2-normalised base (angular
metric as L2 on unit vectors, as vqlite), prints one JSON line with the build time, then
serves measurements so that the caller can interleave them with its own: each stdin line
"NPROBE KFACTOR" is answered by one JSON line with recall@10 and QPS (the 1,000 queries
searched one at a time); "quit" ends.
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
                      "build_s": build}), flush=True)
    ivf_ps = faiss.extract_index_ivf(ivf)
    truth = [set(row) for row in gt]
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        nprobe, kf = int(words[0]), int(words[1])
        ivf_ps.nprobe = nprobe
        index.k_factor = kf
        found = np.empty((len(queries), 10), dtype=np.int64)
        t = time.time()
        for i in range(len(queries)):
            _, ids = index.search(queries[i:i + 1], 10)
            found[i] = ids[0]
        secs = time.time() - t
        recall = float(np.mean([len(set(found[i]) & truth[i]) / 10 for i in range(len(truth))]))
        print(json.dumps({"nprobe": nprobe, "k_factor": kf, "recall10": recall, "qps": len(queries) / secs}), flush=True)


if __name__ == "__main__":
    main()
