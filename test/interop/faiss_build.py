"""Builds FAISS indexes of the given types on seeded data, writes them, searches held-out queries.

Usage: python3 faiss_build.py DIR [--d 32] [--n 2000] [--nq 50] [--k 10] [--nlist 16]
       [--nprobe 4] [--seed 7] TYPE[:ip] ...
Every type is built on the same data (seeded) and searched with the same queries. Writes
DIR/queries.f32 (float32, nq*d, row-major) and DIR/NAME.faiss per type (NAME: the type,
"-ip" appended for the inner-product metric), and prints one JSON object on stdout: per
NAME {"ids": [[k ids] * nq], "distances": [[k floats] * nq], "ntotal": n, "class": the
index's class}. For ivfpqfs it also gives "exact": the same search on an IndexIVFPQ twin
(the same coarse quantizer and PQ codebook on the same data, so the same codes) scanned
with float lookup tables, which fast-scan approximates with 8-bit ones.
"""
import argparse
import json
import os

import numpy as np
import faiss

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("types", nargs="+")
p.add_argument("--d", type=int, default=32)
p.add_argument("--n", type=int, default=2000)
p.add_argument("--nq", type=int, default=50)
p.add_argument("--k", type=int, default=10)
p.add_argument("--nlist", type=int, default=16)
p.add_argument("--nprobe", type=int, default=4)
p.add_argument("--seed", type=int, default=7)
a = p.parse_args()

faiss.omp_set_num_threads(1)
rng = np.random.RandomState(a.seed)
d, n, nq, nl = a.d, a.n, a.nq, a.nlist
centres = rng.randn(24, d).astype("float32")


def sample(m):
    return (centres[rng.randint(0, len(centres), m)] + 0.35 * rng.randn(m, d)).astype("float32")


xb = sample(n)
xq = sample(nq)
xq.tofile(os.path.join(a.dir, "queries.f32"))
keep = []  # objects the swig wrappers must not free while an index uses them
SQ = faiss.ScalarQuantizer


def build(t, metric):
    ids = None

    def coarse():
        q = faiss.IndexFlatIP(d) if metric == faiss.METRIC_INNER_PRODUCT else faiss.IndexFlatL2(d)
        keep.append(q)
        return q

    if t == "flat":
        index = faiss.IndexFlat(d, metric)
    elif t == "idmap_flat":
        index = faiss.IndexIDMap(faiss.IndexFlat(d, metric))
        ids = (1000 + 3 * rng.permutation(n)).astype("int64")
    elif t == "idmap2_pq":
        index = faiss.IndexIDMap2(faiss.IndexPQ(d, 8, 8, metric))
        ids = (50 + 7 * rng.permutation(n)).astype("int64")
    elif t == "pq8":
        index = faiss.IndexPQ(d, 8, 8, metric)
    elif t == "pq4":
        index = faiss.IndexPQ(d, 16, 4, metric)
    elif t == "sq8":
        index = faiss.IndexScalarQuantizer(d, SQ.QT_8bit, metric)
    elif t == "sq8u":
        index = faiss.IndexScalarQuantizer(d, SQ.QT_8bit_uniform, metric)
    elif t == "sq4":
        index = faiss.IndexScalarQuantizer(d, SQ.QT_4bit, metric)
    elif t == "sqfp16":
        index = faiss.IndexScalarQuantizer(d, SQ.QT_fp16, metric)
    elif t == "ivfflat":
        index = faiss.IndexIVFFlat(coarse(), d, nl, metric)
    elif t in ("ivfpq", "ivfpq_ids", "ivfpq_direct"):
        index = faiss.IndexIVFPQ(coarse(), d, nl, 8, 8, metric)
        if t == "ivfpq_ids":
            ids = (10 ** 12 + 11 * rng.permutation(n)).astype("int64")
        if t == "ivfpq_direct":
            index.by_residual = False
    elif t == "ivfpq4":
        index = faiss.IndexIVFPQ(coarse(), d, nl, 16, 4, metric)
    elif t == "ivfsq8":
        index = faiss.IndexIVFScalarQuantizer(coarse(), d, nl, SQ.QT_8bit, metric, True)
    elif t == "ivfsq8_direct":
        index = faiss.IndexIVFScalarQuantizer(coarse(), d, nl, SQ.QT_8bit, metric, False)
    elif t == "ivfsq4":
        index = faiss.IndexIVFScalarQuantizer(coarse(), d, nl, SQ.QT_4bit, metric, True)
    elif t == "ivfsqfp16":
        index = faiss.IndexIVFScalarQuantizer(coarse(), d, nl, SQ.QT_fp16, metric, False)
    elif t == "ivfpqfs":
        index = faiss.index_factory(d, f"IVF{nl},PQ16x4fs", metric)
    elif t in ("opq_pq", "opq_ivfpq"):
        # As index_factory's "OPQ8,PQ8" / "OPQ8,IVF<nlist>,PQ8", with 4 OPQ alternations
        # instead of 50 (which would take most of a minute here).
        opq = faiss.OPQMatrix(d, 8)
        opq.niter = 4
        inner = faiss.IndexPQ(d, 8, 8, metric) if t == "opq_pq" else faiss.IndexIVFPQ(coarse(), d, nl, 8, 8, metric)
        keep.extend([opq, inner])
        index = faiss.IndexPreTransform(opq, inner)
    elif t == "rflat_ivfpq":
        # index_factory's "IVF<nlist>,PQ8,RFlat", re-ranking k * 4 candidates.
        inner = faiss.IndexIVFPQ(coarse(), d, nl, 8, 8, metric)
        keep.append(inner)
        index = faiss.IndexRefineFlat(inner)
        index.k_factor = 4
    elif t == "idmap_rflat_pq":
        inner = faiss.IndexPQ(d, 8, 4, metric)
        refine = faiss.IndexRefineFlat(inner)
        refine.k_factor = 4
        keep.extend([inner, refine])
        index = faiss.IndexIDMap(refine)
        ids = (77 + 2 * rng.permutation(n)).astype("int64")
    else:
        raise SystemExit(f"unknown type {t}")

    index.train(xb)
    if ids is None:
        index.add(xb)
    else:
        index.add_with_ids(xb, ids)
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexIDMap):
        inner = faiss.downcast_index(inner.index)
    if isinstance(inner, faiss.IndexRefine):
        inner = faiss.downcast_index(inner.base_index)
    try:
        faiss.extract_index_ivf(inner).nprobe = a.nprobe
    except Exception:
        pass
    name = t + ("-ip" if metric == faiss.METRIC_INNER_PRODUCT else "")
    faiss.write_index(index, os.path.join(a.dir, f"{name}.faiss"))
    D, I = index.search(xq, a.k)
    out = {"ids": I.tolist(), "distances": D.tolist(), "ntotal": int(index.ntotal), "class": type(faiss.downcast_index(index)).__name__}
    if t == "ivfpqfs":
        fs = faiss.downcast_index(faiss.extract_index_ivf(index))
        twin = faiss.IndexIVFPQ(fs.quantizer, d, nl, fs.pq.M, fs.pq.nbits, metric)
        faiss.copy_array_to_vector(faiss.vector_to_array(fs.pq.centroids), twin.pq.centroids)
        twin.by_residual = fs.by_residual
        twin.is_trained = True
        twin.add(xb)
        twin.nprobe = a.nprobe
        D2, I2 = twin.search(xq, a.k)
        out["exact"] = {"ids": I2.tolist(), "distances": D2.tolist()}
    return name, out


result = {}
for spec in a.types:
    t, _, m = spec.partition(":")
    name, out = build(t, faiss.METRIC_INNER_PRODUCT if m == "ip" else faiss.METRIC_L2)
    result[name] = out
print(json.dumps(result))
