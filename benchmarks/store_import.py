"""DuckDBStore.import_arrow throughput: rows/s for a bulk load of records with embeddings.

Builds an Arrow table of ``--rows`` records (``--dim``-d float32 embeddings, two entities each
from a small vocabulary, ids given) and times one ``import_arrow`` into a fresh store file,
history rows, entities and MENTIONS edges included. Run:
``python -m benchmarks.store_import --rows 1000000 --dim 384``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from memory._duckdb import DuckDBStore

__all__ = ["main", "make_table", "run"]


def make_table(rows: int, dim: int, *, entities: bool = True, seed: int = 0) -> pa.Table:
    """A synthetic import table of ``rows`` records with ``dim``-d embeddings."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    flat = pa.array(vectors.reshape(-1))
    embedding = pa.ListArray.from_arrays(
        pa.array(np.arange(0, rows * dim + 1, dim, dtype=np.int32)), flat
    )
    columns: dict[str, Any] = {
        "id": pa.array([uuid.uuid4().hex for _ in range(rows)]),
        "namespace": pa.array([f"team/t{i % 8}" for i in range(rows)]),
        "text": pa.array(
            [f"fact {i}: person {i % 997} visited place {i % 101}" for i in range(rows)]
        ),
        "embedding": embedding,
    }
    if entities:
        columns["entities"] = pa.array(
            [[f"Person {i % 997}", f"Place {i % 101}"] for i in range(rows)],
            pa.list_(pa.string()),
        )
    return pa.table(columns)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    rows: int, dim: int, *, entities: bool = True, directory: Path | None = None
) -> dict[str, Any]:
    """Time one import of ``rows`` records into a new store file; returns the measurements."""
    t0 = time.perf_counter()
    table = make_table(rows, dim, entities=entities)
    built = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "bench.duckdb"
        with DuckDBStore.from_path(path) as store:
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            count = store.import_arrow(table)
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu_start
            assert count == rows and store.count() == rows
        size = path.stat().st_size
    return {
        "benchmark": "store_import",
        "rows": rows,
        "dim": dim,
        "entities_per_row": 2 if entities else 0,
        "table_build_s": round(built, 2),
        "import_s": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        # CPU seconds of every thread: on a shared machine wall time depends on the neighbours.
        "import_cpu_s": round(cpu, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "file_mb": round(size / 2**20, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--no-entities", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rows, args.dim, entities=not args.no_entities)))


if __name__ == "__main__":
    main()
