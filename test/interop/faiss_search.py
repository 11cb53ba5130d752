"""Reads FAISS index files (ones vqlite wrote) and searches queries with FAISS.

Usage: python3 faiss_search.py QUERIES D [--k 10] [--nprobe 4] [--k-factor 1] FILE ...
QUERIES: float32, row-major (nq*D). Prints one JSON object on stdout: per FILE {"ids",
"distances" (nq lists of k), "ntotal", "class": the index's class as FAISS read it}.
"""
import argparse
import json

import numpy as np
import faiss

p = argparse.ArgumentParser()
p.add_argument("queries")
p.add_argument("d", type=int)
p.add_argument("files", nargs="+")
p.add_argument("--k", type=int, default=10)
p.add_argument("--nprobe", type=int, default=4)
p.add_argument("--k-factor", type=float, default=1)
a = p.parse_args()

faiss.omp_set_num_threads(1)
xq = np.fromfile(a.queries, dtype="float32").reshape(-1, a.d)
result = {}
for f in a.files:
    index = faiss.read_index(f)
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexIDMap):
        inner = faiss.downcast_index(inner.index)
    if isinstance(inner, faiss.IndexRefine):
        inner.k_factor = a.k_factor
        inner = faiss.downcast_index(inner.base_index)
    try:
        faiss.extract_index_ivf(inner).nprobe = a.nprobe
    except Exception:
        pass
    D, I = index.search(xq, a.k)
    result[f] = {"ids": I.tolist(), "distances": D.tolist(), "ntotal": int(index.ntotal), "class": type(faiss.downcast_index(index)).__name__}
print(json.dumps(result))
