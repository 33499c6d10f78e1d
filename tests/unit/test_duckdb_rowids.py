"""The DuckDB store's rowid maps: hashing, and agreement with the tables after every write."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from store_conformance import mem

from memory import _duckdb_rowids as rowid_maps
from memory import _duckdb_write as write
from memory._duckdb import DuckDBStore
from memory._duckdb_rowids import KeyRowids, RowidMaps, hash_keys, key_hash
from memory._graph import k_hop
from memory._store import add, delete, update
from memory._types import AddOp, DeleteOp, Edge, EdgeType, NewMemory, UpdateOp
from memory.errors import (
    InvalidInputError,
    InvalidRecordError,
    MemoryNotFoundError,
    VersionConflictError,
)

NS = ("team", "a")


def assert_maps_agree(store: DuckDBStore) -> None:
    """The store's maps equal maps read afresh from its tables, and find every stored row."""
    maps = store._rows
    assert maps is not None
    cur = store.connection.cursor()
    try:
        fresh = RowidMaps.load(cur)
        assert maps.pairs() == fresh.pairs()
        assert maps.next_rowids == fresh.next_rowids
        for memory_id, rowid in cur.execute("SELECT id, rowid FROM memories").fetchall():
            assert rowid in maps.memories([memory_id])
        for memory_id, rowid in cur.execute("SELECT memory_id, rowid FROM history").fetchall():
            assert rowid in maps.history([memory_id])
        for src, dst, rowid in cur.execute("SELECT src, dst, rowid FROM edges").fetchall():
            assert rowid in maps.edges([src], dst=False) and rowid in maps.edges([dst])
        counts = {
            t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("memories", "history", "edges")
        }
        assert maps.next_rowids == counts  # rowids are dense: nothing was ever deleted
    finally:
        cur.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore.from_path(tmp_path / "maps.duckdb") as store:
        yield store


# -- hashing ----------------------------------------------------------------------------------


def test_vectorised_hash_equals_the_scalar_one() -> None:
    rng = np.random.default_rng(0)
    alphabet = [*"abcXYZ019 -_:/@.", "é", "漢", "🙂"]
    keys = ["", "a", "abcdefgh", "abcdefghi", "x" * 256]
    keys += ["".join(rng.choice(alphabet, rng.integers(0, 40))) for _ in range(2000)]
    arr = pa.array(keys)
    expected = [key_hash(k) for k in keys]
    assert hash_keys(arr).tolist() == expected
    assert hash_keys(arr.slice(5, 300)).tolist() == expected[5:305]
    chunked = pa.chunked_array([arr.slice(0, 7), arr.slice(7, 0), arr.slice(7)])
    assert hash_keys(chunked).tolist() == expected
    for kind in (pa.large_string(), pa.string_view()):
        assert hash_keys(pa.array(keys, kind)).tolist() == expected
    assert hash_keys(pa.chunked_array([], pa.string())).size == 0
    assert len(set(expected)) == len(set(keys))


def test_key_rowids_finds_recent_merged_and_bulk_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rowid_maps, "COMPACT_AT", 4)
    index = KeyRowids(hash_keys(pa.array(["a", "b", "a"])), np.array([0, 1, 2], np.int64))
    assert index.find(["a"]) == [0, 2] and index.find(["zz"]) == [] and index.find([]) == []
    index.add(["c", "a", "d"], 3)
    assert index.find(["a", "c"]) == [0, 2, 3, 4]
    index.add(["e"], 6)  # the fourth recent row: merged into the arrays
    assert index.find(["e", "d"]) == [5, 6] and len(index) == 7
    index.add_arrays(pa.chunked_array([pa.array(["b", "f"])]), np.array([7, 8], np.int64))
    assert index.find(["b", "f"]) == [1, 7, 8]
    assert sorted(r for _, r in index.pairs()) == list(range(9))


# -- the maps follow the tables -----------------------------------------------------------------


def test_maps_follow_writes_failures_checkpoints_and_reopen(
    store: DuckDBStore, tmp_path: Path
) -> None:
    a = add(store, mem("a", id="a", entities=("Ana", "Bo")))
    store.apply([AddOp(mem(f"bulk {i}", entities=(f"E{i % 7}",))) for i in range(2500)])
    assert_maps_agree(store)
    update(store, UpdateOp(a.id, 1, text="a2", entities=("Cy",)))
    store.apply([UpdateOp("a", 2, text="a3"), AddOp(mem("b", id="b")), DeleteOp("b")])
    store.add_edges([Edge("a", "b", EdgeType.RELATES_TO), Edge("x", "a", EdgeType.DERIVED_FROM)])
    store.add_task("why?", NS)
    assert_maps_agree(store)
    before = store._rows.pairs() if store._rows else {}
    failing: list[Any] = [
        UpdateOp("a", 1, text="stale"),
        DeleteOp("missing"),
        AddOp(mem("dup", id="a")),
    ]
    for bad in failing:
        with pytest.raises((VersionConflictError, MemoryNotFoundError, InvalidRecordError)):
            store.apply([AddOp(mem("first", entities=("Zed",))), UpdateOp("a", 3, text="x"), bad])
        assert_maps_agree(store)
    with pytest.raises(InvalidInputError):
        store.add_edges([Edge("a", "b", EdgeType.RELATES_TO), Edge("", "b", EdgeType.RELATES_TO)])
    with pytest.raises(InvalidRecordError):
        store.import_arrow(pa.table({"namespace": ["team/a"], "text": ["t"], "id": ["a"]}))
    assert store._rows is not None and store._rows.pairs() == before
    assert_maps_agree(store)
    store.import_arrow(
        pa.table(
            {
                "namespace": ["team/a"] * 3000,
                "text": [f"imported {i}" for i in range(3000)],
                "entities": [[f"P{i % 11}", f"Q{i % 5}"] for i in range(3000)],
            }
        )
    )
    assert_maps_agree(store)
    store.connection.execute("CHECKPOINT")  # rowids survive a checkpoint...
    add(store, mem("after checkpoint", entities=("Ana",)))
    update(store, UpdateOp("a", 3, text="a4"))
    assert_maps_agree(store)
    pairs = store._rows.pairs() if store._rows else {}
    store.close()
    with DuckDBStore.from_path(tmp_path / "maps.duckdb") as again:  # ...and a reopen
        assert again._rows is not None and again._rows.pairs() == pairs
        assert again.get("a").text == "a4" and len(again.versions("a")) == 4
    with DuckDBStore.from_path(tmp_path / "maps.duckdb", read_only=True) as reader:
        assert_maps_agree(reader)
        assert [h.new_version for h in reader.history("a")] == [1, 2, 3, 4]


def test_concurrent_writers_keep_the_maps_exact(store: DuckDBStore) -> None:
    shared = add(store, mem("shared", entities=("Ana",)))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(10):
                rec = add(store, mem(f"t{i} n{j}", entities=(f"E{j}",)))
                update(store, UpdateOp(rec.id, 1, text=f"t{i} n{j} v2", entities=("Bo",)))
                store.add_edges([Edge(rec.id, shared.id, EdgeType.RELATES_TO)])
                assert store.get(rec.id).version == 2
                if j % 5 == 0:
                    store.import_arrow(pa.table({"namespace": ["team/a"], "text": [f"i{i}{j}"]}))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_maps_agree(store)
    assert len(store.edges(nodes=[shared.id], types=[EdgeType.RELATES_TO])) == 60


def test_readers_never_miss_a_version_committed_meanwhile(store: DuckDBStore) -> None:
    rec = add(store, mem("v1", entities=("Ana",)))
    done = threading.Event()
    seen: list[list[int]] = [[] for _ in range(3)]
    errors: list[BaseException] = []

    def reader(slot: int) -> None:
        try:
            while not done.is_set():
                seen[slot].append(store.get(rec.id).version)
                assert len(store.versions(rec.id)) >= seen[slot][-1]
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for thread in readers:
        thread.start()
    for version in range(1, 40):
        update(store, UpdateOp(rec.id, version, text=f"v{version + 1}"))
    done.set()
    for thread in readers:
        thread.join()
    assert errors == []
    for versions in seen:
        assert versions == sorted(versions)  # never an older version after a newer one
    assert store.get(rec.id).version == 40


def test_every_read_is_right_when_all_keys_share_one_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rowid_maps, "key_hash", lambda key: 7)
    monkeypatch.setattr(rowid_maps, "hash_keys", lambda col: np.full(len(col), 7, np.uint64))
    with DuckDBStore.from_path(tmp_path / "h.duckdb") as store:
        a = add(store, mem("Ana lives in Lisbon", id="a", entities=("Ana", "Lisbon")))
        b = add(store, mem("Bo cooks", id="b", entities=("Bo",)))
        update(store, UpdateOp("a", 1, text="Ana lives in Porto", entities=("Ana", "Porto")))
        delete(store, "b")
        store.import_arrow(pa.table({"namespace": ["team/a"], "text": ["c"], "id": ["c"]}))
        with pytest.raises(InvalidRecordError, match="already used"):
            add(store, mem("dup", id="c"))
        assert store.get("a").text == "Ana lives in Porto"
        assert store.get("a", as_of=a.recorded_at).text == "Ana lives in Lisbon"
        with pytest.raises(MemoryNotFoundError):
            store.get("b")
        with pytest.raises(MemoryNotFoundError):
            store.get("nope")
        assert [r.id for r in store.fetch([("c", 1), ("a", 2), ("b", 1)])] == ["c", "a", "b"]
        assert [r.version for r in store.versions("a")] == [1, 2]
        assert [h.memory_id for h in store.history("b")] == ["b", "b"]
        assert sorted(e.dst for e in store.edges(nodes=["a"])) == [
            "entity:ana",
            "entity:lisbon",  # closed by the update, still stored
            "entity:porto",
        ]
        assert [e.src for e in store.edges(nodes=["entity:bo"])] == ["b"]
        assert set(k_hop(store, "a", 1)) == {"a", "entity:ana", "entity:porto"}
        assert b.id == "b"
    with DuckDBStore.from_path(tmp_path / "h.duckdb") as again:
        assert again.get("c").text == "c" and again.versions("b")[-1].deleted


def test_point_reads_guess_the_rowid_and_fall_back_when_it_misses(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = add(store, mem("v1"))
    for version in range(1, 5):
        update(store, UpdateOp(rec.id, version, text=f"v{version + 1}"))
    asked: list[list[int]] = []
    real = write.rows_at

    def spy(cur: Any, rowids: Any, **kw: Any) -> Any:
        asked.append(list(rowids))
        return real(cur, rowids, **kw)

    monkeypatch.setattr(write, "rows_at", spy)
    assert store.get(rec.id).text == "v5" and len(asked) == 1 and len(asked[0]) == 1
    asked.clear()
    assert [r.text for r in store.fetch([(rec.id, 3), (rec.id, 1)])] == ["v3", "v1"]
    assert len(asked) == 1 and len(asked[0]) == 2  # one row per key, not five
    # Versions imported out of order: rowid order is no longer version order.
    t0 = datetime(2024, 1, 1)
    times = [t0 + timedelta(days=d) for d in range(3)]
    store.import_arrow(
        pa.table(
            {
                "id": ["x", "x", "x"],
                "version": [3, 1, 2],
                "namespace": ["team/a"] * 3,
                "text": ["x3", "x1", "x2"],
                "recorded_at": [times[2], times[0], times[1]],
                "superseded_at": pa.array([None, times[1], times[2]], pa.timestamp("us")),
            }
        )
    )
    asked.clear()
    assert store.get("x").text == "x3" and len(asked) == 2  # the guess, then every row
    assert [r.text for r in store.fetch([("x", 1), ("x", 3)])] == ["x1", "x3"]
    assert update(store, UpdateOp("x", 3, text="x4")).version == 4
    assert [r.text for r in store.versions("x")] == ["x1", "x2", "x3", "x4"]
    with pytest.raises(MemoryNotFoundError):
        store.fetch([("x", 5)])
    assert_maps_agree(store)


def test_maps_that_miss_a_commit_are_rebuilt(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: RowidMaps, cur: Any, appended: Any) -> None:
        raise MemoryError("simulated")

    with monkeypatch.context() as patch:
        patch.setattr(RowidMaps, "record", broken)
        rec = add(store, mem("committed anyway", entities=("Ana",)))  # the write stands
    assert store._rows is None and "rebuilding the rowid maps" in caplog.text
    assert store.get(rec.id) == rec and store.history(rec.id)[0].new_version == 1
    assert_maps_agree(store)


def test_edges_refuse_node_ids_that_are_not_str(store: DuckDBStore) -> None:
    with pytest.raises(InvalidInputError, match="node"):
        store.edges(nodes=[1])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="node"):
        store.edges(nodes="abc")
    assert store.edges(nodes=[]) == []


# -- no indexes, no WAL bloat --------------------------------------------------------------------


def test_large_tables_have_no_index_or_key(store: DuckDBStore) -> None:
    conn = store.connection
    indexes = conn.execute("SELECT table_name FROM duckdb_indexes()").fetchall()
    keys = conn.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ).fetchall()
    hot = {"memories", "history", "edges"}
    assert not hot & {r[0] for r in indexes} and not hot & {r[0] for r in keys}


def test_a_single_write_appends_kilobytes_to_the_wal(tmp_path: Path) -> None:
    # With an ART index on a bulk-loaded memories table each write appended ~1.5 MB here
    # (so a checkpoint every ~10 writes); without one, a few kB.
    path = tmp_path / "wal.duckdb"
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((1000, 384), dtype=np.float32)
    with DuckDBStore.from_path(path) as store:
        store.import_arrow(
            pa.table(
                {
                    "namespace": ["team/a"] * 1000,
                    "text": [f"fact {i}" for i in range(1000)],
                    "embedding": pa.array(list(vectors), pa.list_(pa.float32())),
                }
            )
        )
    wal = Path(f"{path}.wal")
    with DuckDBStore.from_path(path) as store:
        for i in range(5):
            before = wal.stat().st_size if wal.exists() else 0
            add(store, NewMemory(NS, f"write {i}", entities=("Ana",), embedding=vectors[i]))
            assert os.path.getsize(wal) - before < 128 * 1024
