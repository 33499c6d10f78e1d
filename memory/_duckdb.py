"""The embedded DuckDB implementation of :class:`memory._store.MemoryStore`.

One row per version in ``memories``. A write never rewrites a row's content: it stamps the
replaced row's ``superseded_at`` (and, for an UPDATE with ``close_validity``, its open
``valid_to``) and appends the next version. A DELETE appends a *tombstone*: a copy of the last
version with ``deleted = TRUE`` that becomes the current row, so ``get`` refuses the memory
while ``get(as_of=earlier)`` and ``versions`` still see every version.

All times are stored as naive UTC ``TIMESTAMP`` (never ``TIMESTAMPTZ``, whose casts depend on
the session time zone) and returned tz-aware in UTC.

The tables have no indexes (:mod:`memory._duckdb_schema` says why): point reads resolve ids
to rowids through in-memory maps (:mod:`memory._duckdb_rowids`) that the store, the only
writer of its file, builds at open and extends after every commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from memory import _duckdb_arrow as bulk
from memory import _duckdb_write as write
from memory._checks import (
    MAX_TEXT_CHARS,
    aware,
    check_label,
    normalize_entity,
    short,
    to_utc,
)
from memory._duckdb_graph import graph_tables
from memory._duckdb_rowids import Appended, RowidMaps, at_rowids
from memory._duckdb_schema import ARROW_SCHEMA, connect, load_bundled_extension, migrate
from memory._duckdb_sql import filter_sql, prefix_sql, sql_literal
from memory._duckdb_write import COLUMNS, Row, find_rows, memory_id_arg, rows_at
from memory._namespace import Namespace, split_namespace, validate_namespace
from memory._types import (
    AddOp,
    CreditOp,
    Edge,
    EdgeType,
    Erasure,
    Filter,
    HistoryEntry,
    MemoryRecord,
    NewTask,
    NodeKind,
    Operation,
    UpdateOp,
    WriteOp,
)
from memory.errors import InvalidInputError, MemoryNotFoundError, StoreError

__all__ = [
    "ARROW_SCHEMA",
    "MAX_TEXT_CHARS",
    "DuckDBStore",
    "load_bundled_extension",
]

_EVERYTHING = Filter()
_EDGE_COLUMNS = "src, dst, type, src_kind, dst_kind, weight, valid_from, valid_to, namespace"
_HISTORY_COLUMNS = (
    "event_id, memory_id, operation, old_text, new_text, old_version, new_version, actor, "
    '"at", policy, confidence, reason'
)
_T = TypeVar("_T")
_log = logging.getLogger(__name__)


class DuckDBStore:
    """A :class:`~memory._store.MemoryStore` in one DuckDB database (a file or ``:memory:``).

    Safe to share between threads of one process: writes are serialised by a lock and every
    call runs on its own cursor. Only one process may hold a file for writing, and the store
    must be the only writer of its tables (its rowid maps see only its own writes).

    Args:
        conn: An open connection. Call :meth:`setup` before use (``from_path`` does).
        owns_connection: Close ``conn`` in :meth:`close` (``from_path`` passes True).
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, *, owns_connection: bool = False) -> None:
        self._conn = conn
        self._owns = owns_connection
        self._where = "<connection>"
        self._read_only = False
        self._write_lock = threading.RLock()
        self._last = datetime.min
        self._closed = False
        self._rows: RowidMaps | None = None  # built by setup(); see _maps
        # Odd while a commit is entering the rowid maps; see _read.
        self._generation = 0

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> DuckDBStore:
        """Open (creating if needed) a store file, or ``":memory:"``, and run :meth:`setup`.

        Raises:
            StoreLockedError: another process has the file open.
            StoreCorruptError: the file is not a DuckDB database or not a Colony store.
        """
        conn = connect(path, read_only=read_only)
        store = cls(conn, owns_connection=True)
        store._where = os.fspath(path)
        store._read_only = read_only
        try:
            store.setup()
        except BaseException:
            conn.close()
            raise
        return store

    def setup(self) -> None:
        """Apply pending schema migrations, check the schema and map rowids (idempotent)."""
        with self._write_lock, self._cursor() as cur:
            migrate(cur, self._where, read_only=self._read_only)
            self._rows = RowidMaps.load(cur)
            # Resume the clock after every stored time, even if the wall clock went back.
            row = cur.execute(
                "SELECT greatest((SELECT max(greatest(recorded_at, superseded_at)) FROM memories),"
                " (SELECT max(created_at) FROM edges), (SELECT max(created_at) FROM tasks))"
            ).fetchone()
            if row and row[0] is not None:
                self._last = max(self._last, row[0])

    def close(self) -> None:
        """Close the connection if this store opened it; further calls raise StoreError."""
        with self._write_lock:
            if not self._closed and self._owns:
                self._conn.close()
            self._closed = True

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DuckDBStore({self._where!r})"

    @property
    def location(self) -> str:
        """The database file (``:memory:`` for an in-memory store); names it in traces."""
        return self._where

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying connection, for derived indexes (full-text, vector) and analysis.

        Never write to the store's tables through it: the rowid maps would miss the rows.
        """
        return self._conn

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._closed:
            raise StoreError(f"store {self._where!r} is closed")
        cur = self._conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _maps(self, cur: duckdb.DuckDBPyConnection) -> RowidMaps:
        rows = self._rows
        if rows is None:  # setup() not run, or maps dropped after a failed update
            with self._write_lock:
                if self._rows is None:
                    self._rows = RowidMaps.load(cur)
                rows = self._rows
        return rows

    def _read(self, read: Callable[[duckdb.DuckDBPyConnection, RowidMaps], _T]) -> _T:
        """Run ``read``, which finds rows through the rowid maps, on a fresh cursor.

        A commit landing between its map lookups and its queries could pair old rowids with
        new rows (and miss an update's new version). A commit keeps the generation odd until
        the maps have its rows, so a read that overlapped one is redone under the write lock.
        """
        with self._cursor() as cur:
            seen = self._generation
            if seen % 2 == 0:
                out = read(cur, self._maps(cur))
                if self._generation == seen:
                    return out
            with self._write_lock:
                return read(cur, self._maps(cur))

    @contextmanager
    def _transaction(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, Appended]]:
        """A write transaction under the write lock; any error rolls all of it back.

        The caller lists the rows it appends in the yielded :class:`Appended`; they enter the
        rowid maps once committed (nothing to undo on a rollback).
        """
        with self._write_lock, self._cursor() as cur:
            rows = self._maps(cur)
            appended = Appended()
            cur.begin()
            try:
                try:
                    yield cur, appended
                except BaseException:
                    cur.rollback()
                    raise
                self._commit(cur, rows, appended)
            except duckdb.Error as exc:
                hint = " (the store was opened read-only)" if self._read_only else ""
                raise StoreError(f"write to {self._where!r} failed{hint}: {exc}") from exc

    def _commit(self, cur: duckdb.DuckDBPyConnection, rows: RowidMaps, appended: Appended) -> None:
        """Commit, then map the appended rows while the generation is odd."""
        self._generation += 1
        try:
            try:
                cur.commit()
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # usually already rolled back
                    cur.rollback()
                raise
            try:
                rows.record(cur, appended)
            except Exception:
                # The write stands; maps that missed it are dropped and rebuilt on next use.
                _log.warning("rebuilding the rowid maps of %r", self._where, exc_info=True)
                self._rows = None
        finally:
            self._generation += 1

    def _tick(self) -> datetime:
        """A naive-UTC "now", strictly after every earlier one, so as_of reads are exact."""
        now = datetime.now(UTC).replace(tzinfo=None)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now

    # -- writes --------------------------------------------------------------------------------

    def apply(
        self,
        ops: Sequence[WriteOp],
        *,
        tasks: Sequence[NewTask] = (),
        edges: Iterable[Edge] = (),
    ) -> list[MemoryRecord]:
        """Apply ``ops``, ``tasks`` and ``edges`` in one transaction, all or nothing; one
        history row per op."""
        ops = list(ops)
        for op in ops:
            write.check_op(op)
        # Adds are fully checked before the transaction; updates once the old row is read.
        adds = {id(op): write.check_new(op) for op in ops if isinstance(op, AddOp)}
        task_rows = [write.task_row(task) for task in tasks]
        edge_rows = [write.edge_row(edge) for edge in edges]
        if not (ops or task_rows or edge_rows):
            return []
        out: list[MemoryRecord] = []
        with self._transaction() as (cur, appended):
            batch = write.Batch(cur, self._tick, self._maps(cur))
            batch.prefetch(ops, adds)
            for op in ops:
                if isinstance(op, AddOp):
                    row = batch.add(adds[id(op)], op.info)
                elif isinstance(op, UpdateOp):
                    row = batch.update(op)
                elif isinstance(op, CreditOp):
                    row = batch.credit(op)
                else:
                    row = batch.delete(op)
                out.append(row.record())
            if task_rows:
                batch.add_tasks(task_rows)
            if edge_rows:
                batch.link(edge_rows)
            batch.flush(appended)
        return out

    def erase(self, prefix: Namespace) -> Erasure:
        """Remove the memories under ``prefix`` for good (see :meth:`MemoryStore.erase`).

        One transaction deletes every version of them, their history, the tasks of those
        namespaces, every edge in them or touching one of their memories or tasks, and the
        entities nothing left mentions. DuckDB keeps a deleted row's bytes in the file's free
        blocks, so a file store is then copied, without them, into a new file that replaces
        it (``COPY FROM DATABASE``; its write-ahead log goes too). An in-memory store is
        checkpointed instead. Both renumber rowids: the rowid maps are rebuilt.

        The caller keeps every other reader and writer of this store away meanwhile (the
        service does); a crash during the rewrite leaves the erased file or the old one,
        never a mix, as the replacement is a rename.
        """
        prefix = validate_namespace(prefix)
        started = time.perf_counter()
        with self._write_lock:
            with self._cursor() as cur:
                cur.begin()
                try:
                    counts = _erase_rows(cur, prefix)
                    cur.commit()
                except BaseException:
                    with contextlib.suppress(duckdb.Error):
                        cur.rollback()
                    raise
            self._generation += 1  # odd: readers wait for the new maps (see _read)
            self._rows = None  # rowids change from here on; rebuilt below or on next use
            try:
                with self._cursor() as cur:
                    cur.execute("CHECKPOINT")  # the file alone holds the erasure from here
                try:
                    rewritten = self._rewrite_file()
                except (duckdb.Error, OSError) as exc:
                    raise StoreError(
                        f"erased {'/'.join(prefix)!r} from {self._where!r}, but rewriting the "
                        f"file failed ({exc}): the rows are gone, but their bytes may remain in "
                        "its free blocks until an erasure rewrites it (erase again)"
                    ) from exc
                with self._cursor() as cur:
                    self._rows = RowidMaps.load(cur)
            finally:
                self._generation += 1
        return Erasure(prefix, **counts, rewritten=rewritten, seconds=time.perf_counter() - started)

    def _rewrite_file(self) -> bool:
        """Copy the database into a new file that replaces this one; False for a store
        without a file of its own (``:memory:``, or a connection it was given)."""
        if not self._owns or self._where == ":memory:":
            return False
        path = Path(self._where)
        fresh = path.with_name(path.name + ".erasing")
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)  # an earlier rewrite that died half-way
        with self._cursor() as cur:
            (database,) = cur.execute("SELECT current_database()").fetchone() or ("",)
            quoted = '"' + str(database).replace('"', '""') + '"'
            cur.execute(f"ATTACH {sql_literal(str(fresh))} AS colony_erasing")
            try:
                cur.execute(f"COPY FROM DATABASE {quoted} TO colony_erasing")
                cur.execute("CHECKPOINT colony_erasing")
            finally:
                cur.execute("DETACH colony_erasing")
        self._conn.close()
        try:
            # The old log must not be replayed onto the new file: it goes before the rename.
            path.with_name(path.name + ".wal").unlink(missing_ok=True)
            os.replace(fresh, path)
        finally:  # the new file, or the old one (checkpointed: its log held nothing more)
            self._conn = connect(path, read_only=False)
        with self._cursor() as cur:
            migrate(cur, self._where, read_only=False)
        return True

    def add_edges(self, edges: Iterable[Edge]) -> int:
        """Insert graph edges in one transaction; returns how many were written."""
        edges = list(edges)
        self.apply((), edges=edges)
        return len(edges)

    def add_task(
        self,
        text: str,
        namespace: Namespace,
        *,
        task_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a task (query) node for the graph; returns its node id (``task:<hex>``)."""
        node = (
            check_label(task_id, "task_id") if task_id is not None else f"task:{uuid.uuid4().hex}"
        )
        self.apply((), tasks=[NewTask(text, namespace, metadata or {}, id=node)])
        return node

    # -- reads ---------------------------------------------------------------------------------

    # Point reads go by rowid (see _duckdb_rowids; a scan by id took ~20 ms on a million
    # rows): the wanted version's row when its rowid can be guessed (find_rows), else every
    # version of the id, picked in Python.

    def _versions_of(self, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """Every stored version of ``ids`` (``COLUMNS`` and embedding), in no order."""
        wanted = set(ids)
        rows = self._read(lambda cur, maps: rows_at(cur, maps.memories(wanted)))
        return [r for r in rows if r[0] in wanted]  # drop keys that only share a hash

    def get(self, memory_id: str, *, as_of: datetime | None = None) -> MemoryRecord:
        """The current version, or the one visible at system time ``as_of``."""
        memory_id = memory_id_arg(memory_id)
        at = to_utc(as_of, "as_of")
        if at is None:
            want = (memory_id, None)
            hits, _ = self._read(lambda cur, maps: find_rows(cur, maps, [want]))
            found = [hits[want][1]] if want in hits else []
        else:
            rows = self._versions_of([memory_id])
            found = [r for r in rows if r[6] <= at and (r[7] is None or r[7] > at)]
        when = "" if at is None else f" as of {at.isoformat()}Z"
        if not found:
            raise MemoryNotFoundError(f"no memory with id {short(memory_id)}{when}")
        row = Row.from_db(found[0], with_embedding=True)
        if row.deleted:
            raise MemoryNotFoundError(
                f"memory {short(memory_id)} was deleted at {row.recorded_at.isoformat()}Z"
                f"{when}; read versions() or get(as_of=<an earlier time>)"
            )
        return row.record()

    def fetch(
        self, keys: Sequence[tuple[str, int]], *, with_embeddings: bool = True
    ) -> list[MemoryRecord]:
        """The given ``(id, version)`` rows, in the order asked (for search hits)."""
        if not keys:
            return []
        wanted: list[tuple[str, int | None]] = [(str(key[0]), int(key[1])) for key in keys]
        found, _ = self._read(
            lambda cur, maps: find_rows(cur, maps, set(wanted), with_embedding=with_embeddings)
        )
        out = []
        for key in wanted:
            if key not in found:
                raise MemoryNotFoundError(f"no memory {short(key[0])} at version {key[1]}")
            out.append(Row.from_db(found[key][1], with_embedding=with_embeddings).record())
        return out

    def versions(self, memory_id: str) -> list[MemoryRecord]:
        """Every version, oldest first; a deleted memory ends with its tombstone."""
        memory_id = memory_id_arg(memory_id)
        rows = sorted(self._versions_of([memory_id]), key=lambda r: int(r[1]))
        if not rows:
            raise MemoryNotFoundError(f"no memory with id {short(memory_id)}")
        return [Row.from_db(r, with_embedding=True).record() for r in rows]

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """The change log of a memory, oldest first."""
        memory_id = memory_id_arg(memory_id)

        def read(cur: duckdb.DuckDBPyConnection, maps: RowidMaps) -> list[tuple[Any, ...]]:
            rowids = maps.history([memory_id])
            if not rowids:
                return []
            where, params = at_rowids(rowids)
            sql = f'SELECT {_HISTORY_COLUMNS} FROM history WHERE {where} ORDER BY "at", new_version'
            return cur.execute(sql, params).fetchall()

        rows = [r for r in self._read(read) if r[1] == memory_id]
        if not rows:
            raise MemoryNotFoundError(f"no memory with id {short(memory_id)}")
        return [
            HistoryEntry(
                event_id=r[0],
                memory_id=r[1],
                operation=Operation(r[2]),
                old_text=r[3],
                new_text=r[4],
                old_version=r[5],
                new_version=r[6],
                actor=r[7],
                at=r[8].replace(tzinfo=UTC),
                policy=r[9],
                confidence=r[10],
                reason=r[11],
            )
            for r in rows
        ]

    def scan(
        self,
        flt: Filter = _EVERYTHING,
        *,
        limit: int | None = None,
        offset: int = 0,
        with_embeddings: bool = False,
    ) -> list[MemoryRecord]:
        """Records matching ``flt`` in (recorded_at, id, version) order, paged."""
        where, params = filter_sql(flt)
        page, page_params = _page(limit, offset)
        columns = COLUMNS + (", embedding" if with_embeddings else "")
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT {columns} FROM memories WHERE {where} "
                f"ORDER BY recorded_at, id, version{page}",
                params + page_params,
            ).fetchall()
        return [Row.from_db(r, with_embedding=with_embeddings).record() for r in rows]

    def count(self, flt: Filter = _EVERYTHING) -> int:
        """How many records match ``flt``."""
        where, params = filter_sql(flt)
        found = self._one(f"SELECT count(*) FROM memories WHERE {where}", params)
        return int(found[0]) if found else 0

    def list_namespaces(
        self,
        prefix: Namespace = (),
        *,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """Distinct namespaces of current memories under ``prefix``, cut to ``max_depth``."""
        where, params = filter_sql(Filter(namespace_prefix=prefix))
        if max_depth is not None and (
            isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1
        ):
            raise InvalidInputError(
                f"max_depth must be a positive int or None, got {short(max_depth)}"
            )
        ns = (
            "namespace"
            if max_depth is None
            else "array_to_string(string_split(namespace, '/')[1:?], '/')"
        )
        depth = [] if max_depth is None else [max_depth]
        page, page_params = _page(limit, offset)
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT DISTINCT {ns} AS ns FROM memories WHERE {where} "
                f"ORDER BY string_split(ns, '/'){page}",
                depth + params + page_params,
            ).fetchall()
        return [split_namespace(r[0]) for r in rows]

    def edges(
        self,
        *,
        nodes: Sequence[str] | None = None,
        types: Sequence[EdgeType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        """Edges touching any of ``nodes`` (all when None), valid at ``as_of`` if given."""
        clauses: list[str] = ["TRUE"]
        params: list[object] = []
        if types is not None:
            clauses.append("list_contains(?::VARCHAR[], type)")
            params.append([_edge_type(t) for t in types])
        at = to_utc(as_of, "as_of")
        if at is not None:
            clauses.append(
                "created_at <= ? AND (valid_from IS NULL OR valid_from <= ?) "
                "AND (valid_to IS NULL OR valid_to > ?)"
            )
            params += [at, at, at]
        wanted = None if nodes is None else set(_node_ids(nodes))
        select = f"SELECT {_EDGE_COLUMNS}, created_at FROM edges WHERE {' AND '.join(clauses)}"
        order = " ORDER BY created_at, src, dst"

        def read(cur: duckdb.DuckDBPyConnection, maps: RowidMaps) -> list[tuple[Any, ...]]:
            assert wanted is not None
            rowids = maps.edges(sorted(wanted))
            if not rowids:
                return []
            where, at = at_rowids(rowids)
            found = cur.execute(f"{select} AND {where}{order}", [*params, *at]).fetchall()
            return [r for r in found if r[0] in wanted or r[1] in wanted]

        if wanted is None:  # a scan: no rowid lookups to keep in step with commits
            with self._cursor() as cur:
                rows = cur.execute(select + order, params).fetchall()
        else:
            rows = self._read(read)
        return [
            Edge(
                src=r[0],
                dst=r[1],
                type=EdgeType(r[2]),
                src_kind=NodeKind(r[3]),
                dst_kind=NodeKind(r[4]),
                weight=float(r[5]),
                valid_from=aware(r[6]),
                valid_to=aware(r[7]),
                namespace=split_namespace(r[8]),
            )
            for r in rows
        ]

    def graph_arrow(
        self,
        *,
        namespace_prefix: Namespace = (),
        as_of: datetime | None = None,
        types: Sequence[EdgeType] | None = None,
        nodes: Sequence[str] | None = None,
        within: bool = False,
    ) -> tuple[pa.Table, pa.Table]:
        """Node and edge tables of the graph visible under ``namespace_prefix`` at ``as_of``.

        See :func:`memory._duckdb_graph.graph_tables`; :mod:`memory._graph` builds networkx
        views from these.
        """
        prefix = validate_namespace(namespace_prefix, allow_empty=True)
        at = to_utc(as_of, "as_of")
        kinds = None if types is None else [_edge_type(t) for t in types]
        nodes = None if nodes is None else _node_ids(nodes)
        now = max(datetime.now(UTC).replace(tzinfo=None), self._last)

        def read(cur: duckdb.DuckDBPyConnection, maps: RowidMaps) -> tuple[pa.Table, pa.Table]:
            return graph_tables(
                cur, maps, prefix=prefix, as_of=at, now=now, types=kinds, nodes=nodes, within=within
            )

        if nodes is None:  # the whole graph is scanned; the maps are not used
            with self._cursor() as cur:
                return read(cur, self._maps(cur))
        return self._read(read)

    def _one(self, sql: str, params: list[object]) -> tuple[Any, ...] | None:
        with self._cursor() as cur:
            return cur.execute(sql, params).fetchone()

    # -- bulk ----------------------------------------------------------------------------------

    def check_integrity(self) -> list[str]:
        """What is wrong with the stored memories; an empty list when nothing is.

        Checks, in SQL over every row: each memory's versions are distinct and consecutive;
        exactly one of them is current (not superseded), the latest; each version has exactly
        one history entry, and every history entry that made a version points at it; all
        embeddings have one dimension; no validity interval ends before it starts. Then,
        for every memory, that a point read through the rowid maps finds its current version.
        It reads every row: on a large store it takes as long as an export.
        """
        problems: list[str] = []
        checks = (
            (
                "versions not distinct and consecutive",
                """SELECT id FROM memories GROUP BY id
                   HAVING max(version) - min(version) + 1 <> count(*)
                       OR count(DISTINCT version) <> count(*)""",
            ),
            (
                "not exactly one current version, the latest",
                """SELECT id FROM memories GROUP BY id
                   HAVING count(*) FILTER (WHERE superseded_at IS NULL) <> 1
                       OR max(version) FILTER (WHERE superseded_at IS NULL)
                          IS DISTINCT FROM max(version)""",
            ),
            (
                "a version without exactly one history entry",
                """SELECT m.id FROM memories m
                   LEFT JOIN history h ON h.memory_id = m.id AND h.new_version = m.version
                   GROUP BY m.id, m.version HAVING count(h.event_id) <> 1""",
            ),
            (
                "a history entry for a version that is not stored",
                """SELECT h.memory_id FROM history h
                   LEFT JOIN memories m ON m.id = h.memory_id AND m.version = h.new_version
                   WHERE h.new_version IS NOT NULL AND m.id IS NULL""",
            ),
            (
                "validity ends before it starts",
                """SELECT id FROM memories
                   WHERE valid_from IS NOT NULL AND valid_to IS NOT NULL
                     AND valid_to < valid_from""",
            ),
        )
        with self._cursor() as cur:
            for label, sql in checks:
                ids = sorted({str(row[0]) for row in cur.execute(sql).fetchall()})
                if ids:
                    shown = ", ".join(short(i) for i in ids[:5])
                    problems.append(f"{label}: {len(ids)} memories ({shown})")
            dims = cur.execute(
                "SELECT DISTINCT len(embedding) FROM memories WHERE embedding IS NOT NULL"
            ).fetchall()
            if len(dims) > 1:
                sizes = sorted(d[0] for d in dims)
                problems.append(f"embeddings of {len(dims)} different dimensions: {sizes}")
            latest = dict(
                cur.execute("SELECT id, max(version) FROM memories GROUP BY id").fetchall()
            )
        wanted: list[tuple[str, int | None]] = [(memory_id, None) for memory_id in latest]
        found: dict[tuple[str, int | None], Any] = {}

        def current(chunk: list[tuple[str, int | None]]) -> dict[tuple[str, int | None], Any]:
            return self._read(
                lambda cur, maps: find_rows(cur, maps, chunk, with_embedding=False)[0]
            )

        for start in range(0, len(wanted), 10_000):
            found.update(current(wanted[start : start + 10_000]))
        astray = sorted(
            memory_id
            for memory_id, version in latest.items()
            if (memory_id, None) not in found or int(found[(memory_id, None)][1][1]) != version
        )
        if astray:
            shown = ", ".join(short(i) for i in astray[:5])
            problems.append(
                f"the rowid maps do not find the current version: {len(astray)} memories ({shown})"
            )
        return problems

    def export_arrow(
        self, flt: Filter = _EVERYTHING, *, all_versions: bool = False, ordered: bool = True
    ) -> pa.Table:
        """Records as an :data:`ARROW_SCHEMA` table, ordered like :meth:`scan`.

        ``all_versions`` returns every stored row matching the filter's other fields,
        superseded versions and deletion tombstones included (a full backup).
        ``ordered=False`` returns the rows in the order they were written, as DuckDB keeps
        them (its ``preserve_insertion_order``), without sorting every row and its vector.
        That is the order in which the service that wrote them indexed them (writes from
        concurrent calls committed together aside), and the sort it saves is most of the
        export's time (at 100,000 memories ~1.2 s of ~1.9 s).
        """
        where, params = filter_sql(flt, all_versions=all_versions)
        with self._cursor() as cur:
            return bulk.export_table(cur, where, params, ordered=ordered)

    def import_arrow(self, table: pa.Table, *, actor: str = "import") -> int:
        """Bulk-insert rows of an :data:`ARROW_SCHEMA` table in one transaction.

        Only ``namespace`` and ``text`` are required; missing ids are generated, ids and
        versions given are kept (so an ``all_versions`` export restores its history), and an
        id already in the store is refused. Each row gets a history entry by ``actor``.
        """
        check_label(actor, "actor")
        with self._write_lock:
            now = self._tick()
            conformed = bulk.conform(table, actor=actor, now=now)
            with bulk.single_threaded(self._conn), self._transaction() as (cur, appended):
                count = bulk.insert(cur, conformed, actor=actor, now=now)
                appended.read_back = True  # edges come from a join: read the new rows' order
            # Imported rows may carry later times than our clock; stay strictly after them.
            for name in ("recorded_at", "superseded_at"):
                latest = pc.max(conformed.column(name)).as_py()
                if latest is not None and latest > self._last:
                    self._last = latest
        return count

    def export_parquet(self, path: str | os.PathLike[str], flt: Filter = _EVERYTHING) -> int:
        """Write :meth:`export_arrow` ``(flt)`` to a Parquet file; returns the row count."""
        table = self.export_arrow(flt)
        bulk.write_parquet(table, path)
        return table.num_rows

    def import_parquet(self, path: str | os.PathLike[str], *, actor: str = "import") -> int:
        """:meth:`import_arrow` a Parquet file written by :meth:`export_parquet`."""
        return self.import_arrow(bulk.read_parquet(path), actor=actor)


def _node_ids(nodes: object) -> list[str]:
    if isinstance(nodes, str) or not isinstance(nodes, Iterable):
        raise InvalidInputError(f"nodes must be a sequence of node ids, got {short(nodes)}")
    found = list(nodes)
    if not all(isinstance(node, str) for node in found):
        raise InvalidInputError(f"node ids must be str, got {short(found)}")
    return found


def _edge_type(value: object) -> str:
    try:
        return EdgeType(value).value  # type: ignore[arg-type]
    except ValueError:
        raise InvalidInputError(
            f"edge type must be one of {[t.value for t in EdgeType]}, got {short(value)}"
        ) from None


def _page(limit: int | None, offset: int) -> tuple[str, list[object]]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError(f"limit must be a non-negative int or None, got {short(limit)}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be a non-negative int, got {short(offset)}")
    if limit is None:
        return (" OFFSET ?", [offset]) if offset else ("", [])
    return " LIMIT ? OFFSET ?", [limit, offset]


def _erase_rows(cur: duckdb.DuckDBPyConnection, prefix: Namespace) -> dict[str, int]:
    """Delete what :meth:`DuckDBStore.erase` removes, in the open transaction; the counts."""
    where, params = prefix_sql(prefix)
    ids = [
        r[0]
        for r in cur.execute(f"SELECT DISTINCT id FROM memories WHERE {where}", params).fetchall()
    ]
    tasks = [r[0] for r in cur.execute(f"SELECT id FROM tasks WHERE {where}", params).fetchall()]
    named = {
        normalize_entity(name)
        for (name,) in cur.execute(
            f"SELECT DISTINCT unnest(entities) FROM memories WHERE {where}", params
        ).fetchall()
    }
    nodes = [*ids, *tasks]
    in_edges, edge_params = prefix_sql(prefix, "edges.namespace")

    def deleted(sql: str, args: list[object]) -> int:
        (count,) = cur.execute(sql, args).fetchone() or (0,)
        return int(count)

    history = deleted("DELETE FROM history WHERE memory_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    edges = deleted(
        f"DELETE FROM edges WHERE {in_edges} "
        "OR src IN (SELECT unnest(?::VARCHAR[])) OR dst IN (SELECT unnest(?::VARCHAR[]))",
        [*edge_params, nodes, nodes],
    )
    versions = deleted(f"DELETE FROM memories WHERE {where}", params)
    deleted(f"DELETE FROM tasks WHERE {where}", params)
    # An entity goes when no memory left names it and no edge left touches it.
    still = {
        normalize_entity(name)
        for (name,) in cur.execute("SELECT DISTINCT unnest(entities) FROM memories").fetchall()
    }
    linked = {
        node.removeprefix("entity:")
        for (node,) in cur.execute(
            "SELECT dst FROM edges WHERE dst_kind = 'entity' "
            "UNION SELECT src FROM edges WHERE src_kind = 'entity'"
        ).fetchall()
    }
    gone = sorted(named - still - linked)
    entities = deleted("DELETE FROM entities WHERE id IN (SELECT unnest(?::VARCHAR[]))", [gone])
    return {
        "memories": len(ids),
        "versions": versions,
        "history": history,
        "edges": edges,
        "tasks": len(tasks),
        "entities": entities,
    }
