"""VectorIndex on random unit vectors: build rate, single-query latency, recall@k vs exact.

Random uniform vectors have no cluster structure, so they are the hardest case for the
approximate path (real embeddings are easier). Run: ``python -m benchmarks.vector_index``;
prints one JSON object. The machine is shared: take the median of a few runs.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from memory._index import VectorIndex

__all__ = ["exact_top_k", "main", "random_unit_vectors", "run"]


def random_unit_vectors(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    """``n`` unit vectors drawn uniformly from the sphere (float32, generated in blocks)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for lo in range(0, n, 65536):
        block = rng.standard_normal((min(n, lo + 65536) - lo, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[lo : lo + block.shape[0]] = block
    return out


def exact_top_k(
    data: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int
) -> npt.NDArray[np.intp]:
    """Brute-force top-``k`` rows per query, shape ``(len(queries), k)``."""
    best_rows = np.empty((len(queries), 0), np.intp)
    best_scores = np.empty((len(queries), 0), np.float32)
    for lo in range(0, len(data), 65536):
        scores = queries @ data[lo : lo + 65536].T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_rows = np.hstack([best_rows, part + lo])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, part, axis=1)])
        keep = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_rows


def run(
    n: int = 1_000_000,
    dim: int = 384,
    seed: int = 0,
    queries: int = 200,
    k: int = 10,
    incremental: int = 20_000,
    exact_threshold: int = 100_000,
) -> dict[str, Any]:
    """Build an index of ``n`` vectors and measure it; return the figures."""
    data = random_unit_vectors(n, dim, seed)
    qs = random_unit_vectors(queries, dim, seed + 1)
    keys = [str(i) for i in range(n)]

    index = VectorIndex(dim, exact_threshold=exact_threshold)
    start = time.perf_counter()
    index.add(keys, data)
    build_s = time.perf_counter() - start

    for q in qs[:5]:  # warm-up
        index.search(q, k)
    latencies, cpu, found = [], [], []
    truth = exact_top_k(data, qs, k)
    for q, expected in zip(qs, truth, strict=True):
        start, start_cpu = time.perf_counter(), time.process_time()
        hits = index.search(q, k)
        latencies.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        found.append(len({int(key) for key, _ in hits} & set(expected.tolist())) / k)

    start = time.perf_counter()
    batch = index.search_batch(qs, k)
    batch_s = time.perf_counter() - start
    batch_recall = np.mean(
        [
            len({int(key) for key, _ in hits} & set(expected.tolist())) / k
            for hits, expected in zip(batch, truth, strict=True)
        ]
    )

    # Incremental adds, one vector per call, as single writes arrive.
    extra = random_unit_vectors(incremental, dim, seed + 2)
    start = time.perf_counter()
    for i in range(incremental):
        index.add([f"x{i}"], extra[i : i + 1])
    add_s = time.perf_counter() - start
    start = time.perf_counter()
    index.search(qs[0], k)  # codes the appended rows
    first_search_s = time.perf_counter() - start

    ms = np.asarray(latencies) * 1000
    cpu_ms = np.asarray(cpu) * 1000
    return {
        "n": n,
        "dim": dim,
        "seed": seed,
        "queries": queries,
        "k": k,
        "path": "approximate" if index.approximate else "exact",
        "build_s": round(build_s, 3),
        "build_vectors_per_s": round(n / build_s),
        "search_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "search_p95_ms": round(float(np.percentile(ms, 95)), 2),
        # CPU time of the process per query: what the search costs when the shared
        # machine is busy and wall time includes waiting for a core.
        "search_cpu_p50_ms": round(float(np.percentile(cpu_ms, 50)), 2),
        "load_average": round(os.getloadavg()[0], 2),
        f"recall_at_{k}": round(float(np.mean(found)), 4),
        f"min_recall_at_{k}": round(float(np.min(found)), 2),
        "batch_ms_per_query": round(batch_s * 1000 / queries, 2),
        f"batch_recall_at_{k}": round(float(batch_recall), 4),
        "incremental_adds_per_s": round(incremental / add_s) if incremental else None,
        "first_search_after_adds_ms": round(first_search_s * 1000, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--incremental", type=int, default=20_000)
    parser.add_argument("--exact-threshold", type=int, default=100_000)
    args = parser.parse_args(argv)
    figures = run(
        n=args.n,
        dim=args.dim,
        seed=args.seed,
        queries=args.queries,
        k=args.k,
        incremental=args.incremental,
        exact_threshold=args.exact_threshold,
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
