"""Checks FAISS 4-bit fast-scan recall against 8-bit PQ on the first 200,000 synth1m base vectors (200 queries, exact truth by IndexFlatL2), all in IndexRefineFlat with k_factor 16.
Usage: PYTHONPATH=$(../shared/tools/build-faiss.sh --path) /usr/bin/python3 bench/faiss/fastscan_check.py IVF256,PQ32x4fs IVF256,PQ32 PQ32x4fs
Needs the synth1m cache written by bench/search-vs-faiss.ts (--prepare-only)."""
import os, sys, numpy as np, faiss
sys.path.insert(0, os.path.dirname(__file__))
from vecs import fvecs
b = np.fromfile(os.path.expanduser('~/.cache/vqlite/search-vs-faiss/synth1m-seed1/') + 'base.fvecs', dtype=np.int32, count=200000*129).reshape(-1,129)[:,1:].copy().view(np.float32)
q = fvecs(os.path.expanduser('~/.cache/vqlite/search-vs-faiss/synth1m-seed1/') + 'query.fvecs')[:200]
fl = faiss.IndexFlatL2(128); fl.add(b); _, gt = fl.search(q, 10)
for fac in sys.argv[1:]:
    ivf = faiss.index_factory(128, fac); ix = faiss.IndexRefineFlat(ivf); ix.train(b); ix.add(b)
    ix.k_factor = 16
    if "IVF" in fac: faiss.extract_index_ivf(ivf).nprobe = 16
    _, I = ix.search(q, 10); r = np.mean([len(set(I[i]) & set(gt[i]))/10 for i in range(len(q))])
    I1 = np.vstack([ix.search(q[i:i+1], 10)[1] for i in range(len(q))]); r1 = np.mean([len(set(I1[i]) & set(gt[i]))/10 for i in range(len(q))])
    print(fac, 'batch', r, 'one-at-a-time', r1, flush=True)
