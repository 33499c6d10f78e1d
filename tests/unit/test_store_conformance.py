"""Run the store conformance suite against every backend, plus DuckDB-specific checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from store_conformance import Backend, StoreConformance, mem

from memory import Filter
from memory._duckdb import DuckDBStore, load_bundled_extension
from memory._duckdb_schema import MIGRATIONS
from memory._store import add
from memory.errors import (
    InvalidInputError,
    InvalidRecordError,
    MemoryNotFoundError,
    StoreCorruptError,
    StoreError,
)


@pytest.fixture(params=["duckdb-memory", "duckdb-file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Every backend the suite runs against; a new backend adds a param here."""
    fresh = lambda: DuckDBStore.from_path(":memory:")  # noqa: E731
    if request.param == "duckdb-memory":
        return Backend("duckdb-memory", open=fresh, fresh=fresh)
    path = tmp_path / "store.duckdb"
    return Backend(
        "duckdb-file",
        open=lambda: DuckDBStore.from_path(path),
        fresh=fresh,
        path=path,
        opener="memory._duckdb:DuckDBStore.from_path",
        open_path=DuckDBStore.from_path,
    )


class TestConformance(StoreConformance):
    """The shared suite."""


# -- DuckDB only ------------------------------------------------------------------------------


def test_migrations_run_once_per_file(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    with DuckDBStore.from_path(path) as store:
        store.setup()  # idempotent
        add(store, mem())
    with DuckDBStore.from_path(path) as store:
        rows = store.connection.execute("SELECT version FROM colony_migrations").fetchall()
        assert rows == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
        assert store.count() == 1


def test_store_on_a_caller_connection_leaves_it_open() -> None:
    conn = duckdb.connect()
    store = DuckDBStore(conn)
    store.setup()
    add(store, mem())
    store.close()
    assert conn.execute("SELECT count(*) FROM memories").fetchone() == (1,)
    conn.close()


def test_foreign_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "foreign.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE memories (x INTEGER)")
    conn.execute("INSERT INTO memories VALUES (42)")
    conn.close()
    with pytest.raises(StoreCorruptError, match=r"foreign\.duckdb"):
        DuckDBStore.from_path(path)
    conn = duckdb.connect(str(path))
    assert conn.execute("SELECT * FROM memories").fetchall() == [(42,)]
    assert conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'colony_migrations'"
    ).fetchone() == (0,)
    conn.close()


def test_a_trace_store_is_refused_and_untouched(tmp_path: Path) -> None:
    from telemetry import TraceStore

    path = tmp_path / "traces.duckdb"
    TraceStore(path).close()
    with pytest.raises(StoreCorruptError, match=r"traces\.duckdb' is a Colony trace store"):
        DuckDBStore.from_path(path)
    conn = duckdb.connect(str(path))
    tables = {name for (name,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    conn.close()
    assert "spans" in tables and not tables & {"memories", "colony_migrations"}


def test_damaged_schema_and_newer_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    DuckDBStore.from_path(path).close()
    conn = duckdb.connect(str(path))
    conn.execute("ALTER TABLE tasks DROP COLUMN metadata")
    conn.close()
    with pytest.raises(StoreCorruptError, match="tasks"):
        DuckDBStore.from_path(path)
    newer = tmp_path / "n.duckdb"
    DuckDBStore.from_path(newer).close()
    conn = duckdb.connect(str(newer))
    conn.execute("INSERT INTO colony_migrations VALUES (99, now())")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        DuckDBStore.from_path(newer)


def test_read_only_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    with DuckDBStore.from_path(path) as store:
        rec = add(store, mem())
    with DuckDBStore.from_path(path, read_only=True) as store:
        assert store.get(rec.id) == rec
        with pytest.raises(StoreError, match="read-only"):
            add(store, mem("nope"))
        assert store.count() == 1


def test_unopenable_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.duckdb"
    with pytest.raises(StoreError, match=r"x\.duckdb"):
        DuckDBStore.from_path(missing)


def test_fts_extension_loads_offline_and_indexes() -> None:
    conn = duckdb.connect()
    load_bundled_extension(conn, "fts")
    conn.execute("CREATE TABLE docs (id VARCHAR, body VARCHAR)")
    conn.execute(
        "INSERT INTO docs VALUES ('1', 'Ana lives in Lisbon'), ('2', 'Bo lives in Porto'), "
        "('3', 'nothing here')"
    )
    conn.execute("PRAGMA create_fts_index('docs', 'id', 'body')")
    rows = conn.execute(
        "SELECT id FROM (SELECT id, fts_main_docs.match_bm25(id, ?) AS score FROM docs) "
        "WHERE score IS NOT NULL ORDER BY score DESC",
        ["lisbon"],
    ).fetchall()
    assert rows == [("1",)]
    settings = conn.execute(
        "SELECT value FROM duckdb_settings() WHERE name IN "
        "('autoinstall_known_extensions', 'autoload_known_extensions')"
    ).fetchall()
    assert settings == [("false",), ("false",)]
    conn.close()


def test_extensions_load_without_touching_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import duckdb\n"
        "from memory._duckdb import load_bundled_extension\n"
        "conn = duckdb.connect()\n"
        "load_bundled_extension(conn, 'fts')\n"
        "load_bundled_extension(conn, 'vss')\n"
        "conn.execute('CREATE TABLE v (e FLOAT[3])')\n"
        "conn.execute('CREATE INDEX hnsw ON v USING HNSW (e)')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
    assert list(home.iterdir()) == []


def test_unknown_extension_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="spatial"):
        load_bundled_extension(duckdb.connect(), "spatial")


def test_repr_and_context_manager(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    with DuckDBStore.from_path(path) as store:
        assert "r.duckdb" in repr(store)
    store2: Any = DuckDBStore.from_path(path)  # the file is free again after __exit__
    store2.close()


def test_import_restores_the_thread_count_even_when_it_fails() -> None:
    with DuckDBStore.from_path(":memory:") as store:
        conn = store.connection
        before = conn.execute("SELECT current_setting('threads')").fetchone()
        store.import_arrow(pa.table({"namespace": ["a"], "text": ["t"]}))
        with pytest.raises(InvalidRecordError):
            store.import_arrow(pa.table({"namespace": ["a b"], "text": ["t"]}))
        assert conn.execute("SELECT current_setting('threads')").fetchone() == before


def test_import_names_the_bad_row_across_chunks() -> None:
    emb = pa.list_(pa.float32())
    good = pa.table(
        {"namespace": ["a"] * 3, "text": ["t"] * 3, "embedding": pa.array([[1.0]] * 3, emb)}
    )
    nan = pa.table(
        {
            "namespace": ["a"] * 2,
            "text": ["t"] * 2,
            "embedding": pa.array([[1.0], [2.0, float("nan")]], emb),
        }
    )
    with DuckDBStore.from_path(":memory:") as store:
        with pytest.raises(InvalidRecordError, match="row 4"):
            store.import_arrow(pa.concat_tables([good, nan]))
        assert store.import_arrow(pa.concat_tables([good, good])) == 6


def test_an_erasure_whose_rewrite_fails_says_so_and_the_store_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.duckdb"
    with DuckDBStore.from_path(path) as store:
        gone = add(store, mem("Ana's secret is 7f3a9c", ns=("user", "ana")))
        kept = add(store, mem("The team meets on Mondays"))

        def refused(src: object, dst: object) -> None:
            raise PermissionError(f"cannot rename {src} to {dst}")

        with monkeypatch.context() as patched:
            patched.setattr(os, "replace", refused)
            with pytest.raises(StoreError, match=r"rewriting the file failed .*erase again"):
                store.erase(("user", "ana"))
        # The rows are gone and the store, on its old file, reads and writes as before.
        assert store.count(Filter(include_superseded=True)) == 1
        assert store.get(kept.id).text == kept.text
        with pytest.raises(MemoryNotFoundError):
            store.get(gone.id)
        assert add(store, mem("later")).version == 1 and store.check_integrity() == []
        assert b"7f3a9c" in path.read_bytes()  # what the failed rewrite left behind
        assert store.erase(("user", "ana")).rewritten  # nothing left to delete, rewritten
    assert b"7f3a9c" not in path.read_bytes()
    assert not list(tmp_path.glob("*.erasing*"))
