"""faiss index build and query latency for a large synthetic library: exact against approximate.

``N`` (default 10^6) synthetic ``d``-dimensional (default 512) float32 vectors, drawn around
``--clusters`` Gaussian centres with ``--noise`` (real embeddings are clustered; uniform random vectors in 512-d
have no near neighbours for an approximate index to find), and ``--queries`` held-out queries
from the same distribution. Indexes, as ``binge search`` builds them
(:func:`binge.library.index.build_index`, inner product):

* exact ``IndexFlatIP``: build (add) time, query latency per batch of ``--queries`` and per
  single query;
* approximate ``IndexIVFFlat`` (``--nlist`` cells, trained on ``--train`` vectors): training +
  add time, and for each ``nprobe`` the query latency and the recall@10 against the exact top 10.

    nice -n 10 .venv/bin/python benchmarks/search_speed.py [--n 1000000] [--d 512]
        [--threads 2] [--nlist 1024] [--nprobe 8 32 128] [--noise 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--clusters", type=int, default=1000)
    p.add_argument("--noise", type=float, default=2.0,
                   help="σ of the per-dimension noise around a centre (centres: σ = 1)")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--single", type=int, default=20, help="single-vector queries timed")
    p.add_argument("--nlist", type=int, default=1024)
    p.add_argument("--train", type=int, default=100_000)
    p.add_argument("--nprobe", type=int, nargs="+", default=[8, 32, 128])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the figures as JSON here")
    return p.parse_args(argv)


def synthetic(n: int, d: int, clusters: int, seed: int, noise: float = 1.0) -> np.ndarray:
    """(n, d) float32: a random one of ``clusters`` centres ~ N(0, I) plus N(0, noise² I)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32)
    x = np.empty((n, d), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        m = min(step, n - i)
        x[i:i + m] = centres[rng.integers(0, clusters, m)]
        x[i:i + m] += noise * rng.standard_normal((m, d), dtype=np.float32)
    return x


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> dict:
    import faiss

    from binge.library.index import build_index, search

    args = parse_args(argv)
    faiss.omp_set_num_threads(args.threads)
    x = synthetic(args.n + args.queries, args.d, args.clusters, args.seed, args.noise)
    x, q = x[:args.n], x[args.n:]
    res: dict = {"n": args.n, "d": args.d, "threads": args.threads, "queries": args.queries}
    flat, res["flat_build_s"] = _timed(lambda: build_index(x, "ip", gpu=False))
    (_, exact), t = _timed(lambda: search(flat, q, 10))
    res["flat_query_ms_per_query_batched"] = 1e3 * t / len(q)
    _, t = _timed(lambda: [search(flat, q[i], 10) for i in range(args.single)])
    res["flat_query_ms_single"] = 1e3 * t / args.single
    rng = np.random.default_rng(args.seed + 1)
    train = x[rng.choice(len(x), min(args.train, len(x)), replace=False)]

    def ivf():
        import faiss as f

        index = f.IndexIVFFlat(f.IndexFlatIP(args.d), args.d, args.nlist, f.METRIC_INNER_PRODUCT)
        index.cp.seed = args.seed
        index.train(train)
        index.add(x)
        return index

    index, res["ivf_build_s"] = _timed(ivf)
    res["ivf_nlist"], res["ivf"] = args.nlist, []
    for nprobe in args.nprobe:
        index.nprobe = nprobe
        (_, approx), t = _timed(lambda: search(index, q, 10))
        _, t1 = _timed(lambda: [search(index, q[i], 10) for i in range(args.single)])
        recall = float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)]))
        res["ivf"].append({"nprobe": nprobe, "recall_at_10": recall,
                           "ms_per_query_batched": 1e3 * t / len(q),
                           "ms_single": 1e3 * t1 / args.single})
    print(f"| index (N = {args.n}, d = {args.d}, {args.threads} threads) | build s | "
          f"ms/query (batch of {args.queries}) | ms/query (single) | recall@10 |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| exact IndexFlatIP | {res['flat_build_s']:.1f} | "
          f"{res['flat_query_ms_per_query_batched']:.2f} | {res['flat_query_ms_single']:.1f} | 1 |")
    for r in res["ivf"]:
        print(f"| IVFFlat nlist={args.nlist} nprobe={r['nprobe']} | {res['ivf_build_s']:.1f} | "
              f"{r['ms_per_query_batched']:.3f} | {r['ms_single']:.2f} | "
              f"{r['recall_at_10']:.3f} |")
    if args.out:
        from pathlib import Path

        from binge.io import write_json

        write_json(res, Path(args.out))
    return res


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
