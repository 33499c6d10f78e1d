"""Store throughput and latency on synthetic records with random unit vectors.

``ingest_per_s``: records/s of one bulk Arrow import through the service (DuckDB insert,
history rows, and the search indexes built). ``search_*``: one vector query through the
service (ANN + filters + fetching the records). ``recall_vs_exact``: recall@10 against brute
force. ``write_p95_ms``: one ``MemoryService.add`` including embedding the text.
``erase_s``: :meth:`MemoryService.erase` of one of the 16 namespaces (``erased`` memories):
the deletes, the file rewritten without them, and the search index rebuilt. Last, the file is
opened again: ``open_s`` (the search index rebuilt from it) and ``first_search_s`` (the first
search by words, which builds the keyword index, and with ``windows`` the second one over
each memory's conversation window: :data:`memory.WINDOW_KEY`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from benchmarks.vector_index import exact_top_k, random_unit_vectors
from memory import (
    SYSTEM,
    WINDOW_KEY,
    Embedder,
    HashEmbedder,
    MemoryService,
    default_embedder,
    load_locomo,
)
from memory.errors import InvalidInputError

__all__ = ["run_store_bench", "summarize"]

K = 10
NAMESPACES = 16


def _table(
    vectors: npt.NDArray[np.float32],
    start: int,
    turns: Sequence[str] | None = None,
    windows: bool = False,
) -> pa.Table:
    n, dim = vectors.shape
    idx = range(start, start + n)
    texts = (
        [f"synthetic memory {i} about topic {i % 997}" for i in idx]
        if turns is None
        else [f"memory {i}: {turns[i % len(turns)]}" for i in idx]
    )
    columns = {
        "namespace": pa.array([f"team/bench/ns{i % NAMESPACES}" for i in idx], pa.string()),
        "text": pa.array(texts, pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(vectors.reshape(-1), dim).cast(
            pa.list_(pa.float32())
        ),
    }
    if windows and turns is not None:
        # The turns before and after, as RuleExtractor(window=1) keeps them.
        around = len(turns)
        columns["metadata"] = pa.array(
            [
                orjson.dumps(
                    {WINDOW_KEY: f"{turns[(i - 1) % around]} {turns[(i + 1) % around]}"}
                ).decode()
                for i in idx
            ],
            pa.string(),
        )
    return pa.table(columns)


def _number(text: str) -> int:
    """The index a bench memory's text carries (``synthetic memory {i} ...``, ``memory {i}:
    ...``)."""
    words = text.split(maxsplit=3)
    return int(words[2] if words[0] == "synthetic" else words[1].rstrip(":"))


def _turns(paths: Sequence[str | Path]) -> list[str]:
    """Every turn's text of the LoCoMo-layout files or folders ``paths``."""
    turns = [
        turn.text
        for conversation in load_locomo(paths)
        for session in conversation.sessions
        for turn in session.turns
        if turn.text.strip()
    ]
    if not turns:
        raise InvalidInputError(f"--texts {list(map(str, paths))}: no turn with text")
    return turns


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def run_store_bench(
    *,
    memories: int = 100_000,
    dim: int = 384,
    queries: int = 200,
    writes: int = 200,
    seed: int = 0,
    embedder: str | Embedder | None = None,
    chunk: int = 250_000,
    texts: Sequence[str | Path] = (),
    windows: bool = False,
) -> dict[str, Any]:
    """Run the benchmark in a temporary DuckDB file; returns the JSON-ready result.

    ``texts``: LoCoMo-layout files or folders whose turns, numbered and repeated, are the
    memories' texts (real chat for the keyword index to read), instead of the synthetic
    sentence. ``windows``: each memory also carries the turns before and after its own as
    its conversation window, as memories that ``RuleExtractor`` makes do (needs ``texts``).
    """
    for name, value in (("memories", memories), ("queries", queries), ("writes", writes)):
        if not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"--{name} must be a positive integer, got {value!r}")
    if windows and not texts:
        raise InvalidInputError("--windows needs --texts: the windows are the turns around each")
    if isinstance(embedder, str) and embedder == "hash":
        emb: Embedder = HashEmbedder(dim=dim)
    else:
        emb = embedder if isinstance(embedder, Embedder) else default_embedder(embedder)
    if emb.dim != dim:
        raise InvalidInputError(
            f"--dim {dim} does not match the embedder's dimension {emb.dim}; use --dim {emb.dim}"
        )
    turns = _turns(texts) if texts else None
    matrix = random_unit_vectors(memories, dim, seed)
    with tempfile.TemporaryDirectory(prefix="colony-bench-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        with MemoryService.open(path, embedder=emb) as service:
            figures = _on(service, matrix, queries, writes, seed, chunk, turns, windows)
        # Opened again, as a restarted memory actor or a CLI command opens it: the search
        # index rebuilt from the file, then the first search by words, which builds the
        # keyword index.
        started = time.perf_counter()
        with MemoryService.open(path, embedder=emb) as reopened:
            open_s = time.perf_counter() - started
            started = time.perf_counter()
            query = "synthetic memory about topic 5" if turns is None else turns[len(turns) // 2]
            hits = reopened.search(query, principal=SYSTEM, k=K)
            first_search_s = time.perf_counter() - started
            if not hits or reopened.stats()["current"] != figures.pop("left"):
                raise RuntimeError("the store opened again does not hold what was left")
    return {
        "memories": memories,
        **figures,
        "open_s": round(open_s, 2),
        "first_search_s": round(first_search_s, 2),
        "dim": dim,
        "embedder": getattr(emb, "name", type(emb).__name__),
        "texts": "synthetic" if turns is None else f"{len(turns)} turns of {list(map(str, texts))}",
        "windows": windows,
    }


def _on(
    service: MemoryService,
    matrix: npt.NDArray[np.float32],
    queries: int,
    writes: int,
    seed: int,
    chunk: int,
    turns: Sequence[str] | None,
    windows: bool,
) -> dict[str, Any]:
    """Import, search, write and erase through ``service``; the figures, and ``left``: the
    memories the erasure left."""
    memories, dim = matrix.shape
    started = time.perf_counter()
    for lo in range(0, memories, chunk):
        table = _table(matrix[lo : lo + chunk], lo, turns, windows)
        service.import_arrow(table, principal=SYSTEM)
    ingest_s = time.perf_counter() - started

    query_vectors = random_unit_vectors(queries, dim, seed + 1)
    service.search_vector(query_vectors[0], principal=SYSTEM, k=K)  # warm-up
    latencies, found = [], []
    for q in query_vectors:
        t0 = time.perf_counter()
        hits = service.search_vector(q, principal=SYSTEM, k=K)
        latencies.append((time.perf_counter() - t0) * 1000)
        found.append({_number(h.record.text) for h in hits})
    exact = [set(row.tolist()) for row in exact_top_k(matrix, query_vectors, K)]
    recall = float(np.mean([len(f & e) / K for f, e in zip(found, exact, strict=True)]))

    service.add("warm-up write", principal=SYSTEM, namespace=("team", "bench", "w"))
    write_ms = []
    for i in range(writes):
        t0 = time.perf_counter()
        service.add(
            f"single write {i}: the quarterly report moved to room {i % 37}",
            principal=SYSTEM,
            namespace=("team", "bench", "w"),
        )
        write_ms.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    erasure = service.erase(("team", "bench", "ns0"), principal=SYSTEM)
    erase_s = time.perf_counter() - t0
    left = service.stats()
    if left["current"] != left["versions"] or left["current"] != memories + writes + 1 - (
        erasure.memories
    ):
        raise RuntimeError(f"{erasure.memories} memories erased, but {left} left")
    return {
        "ingest_per_s": round(memories / ingest_s, 1),
        "search_p50_ms": _percentile(latencies, 50),
        "search_p95_ms": _percentile(latencies, 95),
        "recall_vs_exact": round(recall, 4),
        "write_p95_ms": _percentile(write_ms, 95),
        "erased": erasure.memories,
        "erase_s": round(erase_s, 2),
        "left": left["current"],
    }


def summarize(result: dict[str, Any]) -> str:
    """One human line for stderr."""
    return (
        f"store: {result['memories']} memories, ingest {result['ingest_per_s']}/s, "
        f"search p50 {result['search_p50_ms']} ms p95 {result['search_p95_ms']} ms "
        f"(recall@{K} vs exact {result['recall_vs_exact']}), "
        f"write p95 {result['write_p95_ms']} ms ({result['embedder']}); "
        f"erasing {result['erased']} memories took {result['erase_s']} s; opened again in "
        f"{result['open_s']} s, first search by words {result['first_search_s']} s"
    )
