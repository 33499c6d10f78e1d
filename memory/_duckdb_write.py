"""The versioned write path of :class:`memory._duckdb.DuckDBStore`.

A :class:`Batch` runs inside the caller's transaction on the caller's cursor. ``tick`` hands
out the store's strictly increasing "now" (naive UTC). Stored rows are found through the
store's rowid maps (:mod:`memory._duckdb_rowids`), never by scanning for a key.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from memory._checks import (
    aware,
    check_embedding,
    check_float,
    check_interval,
    check_label,
    check_metadata,
    check_optional_str,
    check_strings,
    check_text,
    entity_node_id,
    metadata_from_json,
    normalize_entity,
    short,
    to_utc,
)
from memory._duckdb_rowids import Appended, RowidMaps, at_rowids
from memory._namespace import join_namespace, split_namespace, validate_namespace
from memory._types import (
    AddOp,
    ChangeInfo,
    CreditOp,
    DeleteOp,
    Edge,
    EdgeType,
    MemoryRecord,
    NewTask,
    NodeKind,
    Operation,
    Tier,
    UpdateOp,
    Vector,
    WriteOp,
)
from memory.errors import (
    InvalidInputError,
    InvalidRecordError,
    MemoryIdTakenError,
    MemoryNotFoundError,
    VersionConflictError,
)

Tick = Callable[[], datetime]

# Record columns in table order, embedding last and optional.
COLUMNS = (
    "id, version, namespace, tier, text, author, recorded_at, superseded_at, valid_from, "
    "valid_to, entities, provenance, metadata::VARCHAR, trust, utility, deleted"
)


@dataclass(frozen=True, slots=True)
class Row:
    """A stored version as plain values (naive UTC times), the input of the next version."""

    id: str
    version: int
    namespace: str
    tier: str
    text: str
    author: str
    recorded_at: datetime
    superseded_at: datetime | None
    valid_from: datetime | None
    valid_to: datetime | None
    entities: tuple[str, ...]
    provenance: tuple[str, ...]
    metadata: str
    trust: float
    utility: float
    deleted: bool
    embedding: Vector | None

    @classmethod
    def from_db(cls, row: Sequence[Any], *, with_embedding: bool) -> Row:
        """A row selected as ``COLUMNS`` (plus ``embedding`` when ``with_embedding``)."""
        embedding = None
        if with_embedding and row[16] is not None:
            embedding = np.asarray(row[16], dtype=np.float32)
        return cls(
            id=row[0],
            version=int(row[1]),
            namespace=row[2],
            tier=row[3],
            text=row[4],
            author=row[5],
            recorded_at=row[6],
            superseded_at=row[7],
            valid_from=row[8],
            valid_to=row[9],
            entities=tuple(row[10]),
            provenance=tuple(row[11]),
            metadata=row[12],
            trust=float(row[13]),
            utility=float(row[14]),
            deleted=bool(row[15]),
            embedding=embedding,
        )

    def record(self) -> MemoryRecord:
        """The public, tz-aware record."""
        recorded = aware(self.recorded_at)
        assert recorded is not None
        return MemoryRecord(
            id=self.id,
            namespace=split_namespace(self.namespace),
            tier=Tier(self.tier),
            text=self.text,
            version=self.version,
            author=self.author,
            recorded_at=recorded,
            superseded_at=aware(self.superseded_at),
            valid_from=aware(self.valid_from),
            valid_to=aware(self.valid_to),
            entities=self.entities,
            provenance=self.provenance,
            metadata=metadata_from_json(self.metadata),
            trust=self.trust,
            utility=self.utility,
            deleted=self.deleted,
            embedding=self.embedding,
        )


def rows_at(
    cur: duckdb.DuckDBPyConnection,
    rowids: Sequence[int],
    *,
    with_rowid: bool = False,
    with_embedding: bool = True,
) -> list[tuple[Any, ...]]:
    """The ``memories`` rows at ``rowids`` as ``COLUMNS`` plus embedding (rowid first if asked).

    Without the embedding its place holds NULL: a read by rowid decodes the whole block of
    every column it selects, and the embedding is three quarters of that cost. See
    :mod:`memory._duckdb_rowids` for what a read by rowid costs.
    """
    if not rowids:
        return []
    first = "rowid, " if with_rowid else ""
    embedding = "embedding" if with_embedding else "NULL AS embedding"
    where, params = at_rowids(rowids)
    sql = f"SELECT {first}{COLUMNS}, {embedding} FROM memories WHERE {where}"
    return cur.execute(sql, params).fetchall()


Want = tuple[str, int | None]
"""A memory id and a version of it; version None is the current one."""


def find_rows(
    cur: duckdb.DuckDBPyConnection,
    maps: RowidMaps,
    wants: Collection[Want],
    *,
    with_embedding: bool = True,
) -> tuple[dict[Want, tuple[int, tuple[Any, ...]]], set[str]]:
    """The stored ``(rowid, row)`` of each wanted version, and the wanted ids stored at all.

    Rows are ``COLUMNS`` plus embedding. Versions are appended in order, so an id's k-th
    rowid normally holds version k and its last one the current version: only those rows
    are read, one DuckDB vector each. All the rows of an id are read only when that guess
    misses (versions imported out of order, or another key sharing the hash).
    """
    by_id = maps.memories_each({want[0] for want in wants})
    guesses = {want: _guess(by_id[want[0]], want[1]) for want in wants}
    rows = _rows_by_rowid(
        cur, {r for r in guesses.values() if r is not None}, with_embedding=with_embedding
    )
    found: dict[Want, tuple[int, tuple[Any, ...]]] = {}
    missed: list[Want] = []
    for want, rowid in guesses.items():
        row = None if rowid is None else rows.get(rowid)
        if rowid is not None and row is not None and _is(row, want):
            found[want] = (rowid, row)
        elif by_id[want[0]]:
            missed.append(want)
    if missed:
        rest = {r for want in missed for r in by_id[want[0]]} - rows.keys()
        rows.update(_rows_by_rowid(cur, rest, with_embedding=with_embedding))
        for want in missed:
            for rowid in by_id[want[0]]:
                row = rows.get(rowid)
                if row is not None and _is(row, want):
                    found[want] = (rowid, row)
    # Every stored id had a row read: its guess, or all its rows after a miss.
    stored = {row[0] for row in rows.values()} & by_id.keys()
    return found, stored


def _guess(rowids: list[int], version: int | None) -> int | None:
    if not rowids:
        return None
    if version is None:
        return rowids[-1]
    return rowids[version - 1] if 1 <= version <= len(rowids) else None


def _is(row: tuple[Any, ...], want: Want) -> bool:
    if row[0] != want[0]:
        return False
    return row[7] is None if want[1] is None else int(row[1]) == want[1]  # 7: superseded_at


def _rows_by_rowid(
    cur: duckdb.DuckDBPyConnection, rowids: Collection[int], *, with_embedding: bool = True
) -> dict[int, tuple[Any, ...]]:
    rows = rows_at(cur, sorted(rowids), with_rowid=True, with_embedding=with_embedding)
    return {int(r[0]): r[1:] for r in rows}


def check_op(op: object) -> None:
    """Refuse anything but a write op with a well-formed ChangeInfo."""
    if not isinstance(op, AddOp | UpdateOp | DeleteOp | CreditOp):
        raise InvalidInputError(
            f"ops must be AddOp, UpdateOp, DeleteOp or CreditOp, got {short(op)}"
        )
    if isinstance(op, CreditOp):
        check_float(op.delta, "credit delta")
    info = op.info
    if not isinstance(info, ChangeInfo):
        raise InvalidInputError(f"info must be a ChangeInfo, got {short(info)}")
    check_label(info.actor, "info.actor")
    check_optional_str(info.policy, "info.policy")
    check_optional_str(info.reason, "info.reason")
    if info.confidence is not None:
        check_float(info.confidence, "info.confidence")


def check_tier(value: object) -> str:
    """A tier name."""
    try:
        return Tier(value).value  # type: ignore[arg-type]
    except ValueError:
        raise InvalidRecordError(
            f"tier must be one of {[t.value for t in Tier]}, got {short(value)}"
        ) from None


def memory_id_arg(memory_id: object) -> str:
    """A memory id argument; anything else cannot name a memory."""
    if not isinstance(memory_id, str) or not memory_id:
        raise MemoryNotFoundError(f"no memory with id {short(memory_id)}: ids are non-empty str")
    if not memory_id.isascii():
        try:
            memory_id.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no stored id can hold one
            raise MemoryNotFoundError(
                f"no memory with id {short(memory_id)}: ids are valid Unicode (no lone surrogates)"
            ) from None
    return memory_id


def check_new(op: AddOp) -> Row:
    """Validate an AddOp before the transaction; ``recorded_at`` is set at write time."""
    mem = op.memory
    ns = validate_namespace(mem.namespace)
    valid_from = to_utc(mem.valid_from, "valid_from")
    valid_to = to_utc(mem.valid_to, "valid_to")
    check_interval(valid_from, valid_to)
    return Row(
        id=check_label(mem.id, "id") if mem.id is not None else uuid.uuid4().hex,
        version=1,
        namespace=join_namespace(ns),
        tier=check_tier(mem.tier),
        text=check_text(mem.text),
        author=check_label(mem.author, "author"),
        recorded_at=datetime.min,
        superseded_at=None,
        valid_from=valid_from,
        valid_to=valid_to,
        entities=check_strings(mem.entities, "entities"),
        provenance=check_strings(mem.provenance, "provenance"),
        metadata=check_metadata(mem.metadata),
        trust=check_float(mem.trust, "trust", low=0.0, high=1.0),
        utility=check_float(mem.utility, "utility"),
        deleted=False,
        embedding=check_embedding(mem.embedding),
    )


def edge_row(edge: object) -> list[Any]:
    """A checked edge as an ``edges`` row, ``created_at`` (last) left to the writer."""
    if not isinstance(edge, Edge):
        raise InvalidInputError(f"edges must be Edge objects, got {short(edge)}")
    start, end = to_utc(edge.valid_from, "valid_from"), to_utc(edge.valid_to, "valid_to")
    check_interval(start, end)
    try:
        kind, src_kind, dst_kind = (
            EdgeType(edge.type).value,
            NodeKind(edge.src_kind).value,
            NodeKind(edge.dst_kind).value,
        )
    except ValueError as exc:
        raise InvalidRecordError(f"bad edge {short(edge)}: {exc}") from None
    return [
        check_label(edge.src, "edge src"),
        src_kind,
        check_label(edge.dst, "edge dst"),
        dst_kind,
        kind,
        check_float(edge.weight, "edge weight"),
        start,
        end,
        join_namespace(validate_namespace(edge.namespace, allow_empty=True)),
        None,
    ]


def task_row(task: object) -> tuple[str, str, str, str]:
    """A checked task node: id (``task:<hex>`` unless given), namespace, text, metadata."""
    if not isinstance(task, NewTask):
        raise InvalidInputError(f"tasks must be NewTask objects, got {short(task)}")
    node = check_label(task.id, "task id") if task.id is not None else f"task:{uuid.uuid4().hex}"
    return (
        node,
        join_namespace(validate_namespace(task.namespace)),
        check_text(task.text),
        check_metadata({} if task.metadata is None else task.metadata),
    )


def _naive_ts(values: list[datetime | None]) -> pa.Array:
    return pa.array(values, _TS)


class Batch:
    """One ``apply`` call: ops are resolved in Python against an overlay, then flushed.

    Every read the ops need is done up front in a few set-based queries; every write is one
    ``INSERT ... SELECT`` from an Arrow table (or one ``UPDATE ... FROM``), whatever the
    batch size. The caller's transaction makes the whole batch atomic.
    """

    def __init__(self, cur: duckdb.DuckDBPyConnection, tick: Tick, rows: RowidMaps) -> None:
        self._cur = cur
        self._tick = tick
        self._rows = rows
        self._current: dict[str, Row] = {}  # id -> current row (stored or written here)
        self._taken: set[str] = set()  # ids that exist in the store
        self._new: dict[tuple[str, int], Row] = {}  # rows to insert, in order
        self._rowids: dict[tuple[str, int], int] = {}  # stored current rows
        self._stamps: dict[int, tuple[datetime, datetime | None]] = {}  # rowid -> new times
        self._history: list[tuple[object, ...]] = []
        self._entities: dict[str, tuple[str, datetime]] = {}
        # Open MENTIONS edges per memory: dst -> index into _edges, or -1 - rowid for a
        # stored edge.
        self._open: dict[str, dict[str, int]] = {}
        self._edges: list[list[Any]] = []
        self._closed: list[tuple[int, datetime]] = []  # stored edges: rowid, valid_to
        self._tasks: list[tuple[object, ...]] = []

    def prefetch(self, ops: Sequence[WriteOp], adds: dict[int, Row]) -> None:
        """Read every id, current row and open MENTIONS edge the ops touch (<= 2 queries).

        Ids are resolved through the rowid maps, so a batch of new memories with fresh ids
        (nothing mapped) reads nothing at all.
        """
        targets = {
            op.memory_id
            for op in ops
            if isinstance(op, UpdateOp | DeleteOp | CreditOp) and isinstance(op.memory_id, str)
        }
        ids = {row.id for row in adds.values()} | targets
        found, self._taken = find_rows(self._cur, self._rows, [(i, None) for i in ids])
        for rowid, values in found.values():
            row = Row.from_db(values, with_embedding=True)
            self._current[row.id] = row
            # Rows are later stamped by rowid: an UPDATE keyed on (id, version) scans.
            self._rowids[(row.id, row.version)] = rowid
            self._open[row.id] = {}
        rowids = self._rows.edges(sorted(self._current), dst=False)
        if not rowids:  # only new memories, or none that mentions anything
            return
        where, params = at_rowids(rowids)
        edges = self._cur.execute(
            f"SELECT rowid, src, dst, src_kind, type, valid_to FROM edges WHERE {where}", params
        ).fetchall()
        for rowid, src, dst, src_kind, kind, valid_to in edges:
            if src not in self._current:  # another key with the same hash
                continue
            if src_kind == "memory" and kind == "mentions" and valid_to is None:
                self._open[src][dst] = -1 - int(rowid)

    def current(self, memory_id: str) -> Row:
        """The current row of a memory (a tombstone if it is deleted)."""
        row = self._current.get(memory_id)
        if row is None:
            raise MemoryNotFoundError(f"no memory with id {short(memory_id)}")
        return row

    def add(self, row: Row, info: ChangeInfo) -> Row:
        """Version 1 of a checked new memory."""
        if row.id in self._taken:
            raise MemoryIdTakenError(f"id {short(row.id)} is already used by another memory")
        now = self._tick()
        row = dataclasses.replace(row, recorded_at=now)
        self._taken.add(row.id)
        self._open[row.id] = {}
        self._write(row)
        self._log(row.id, Operation.ADD, None, row, info, now)
        return row

    def update(self, op: UpdateOp) -> Row:
        """Compare-and-set: version ``expected_version + 1``, keeping unset fields."""
        old = self.current(memory_id_arg(op.memory_id))
        if old.deleted or old.version != op.expected_version:
            actual = None if old.deleted else old.version
            raise VersionConflictError(op.memory_id, op.expected_version, actual)
        now = self._tick()
        new_from = to_utc(op.valid_from, "valid_from")
        new_to = to_utc(op.valid_to, "valid_to")
        row = Row(
            id=old.id,
            version=old.version + 1,
            namespace=old.namespace,
            tier=old.tier,
            text=old.text if op.text is None else check_text(op.text),
            author=old.author,
            recorded_at=now,
            superseded_at=None,
            valid_from=old.valid_from if new_from is None else new_from,
            valid_to=old.valid_to if new_to is None else new_to,
            entities=old.entities
            if op.entities is None
            else check_strings(op.entities, "entities"),
            provenance=(
                old.provenance
                if op.provenance is None
                else check_strings(op.provenance, "provenance")
            ),
            metadata=old.metadata if op.metadata is None else check_metadata(op.metadata),
            trust=old.trust if op.trust is None else check_float(op.trust, "trust", low=0, high=1),
            utility=old.utility if op.utility is None else check_float(op.utility, "utility"),
            deleted=False,
            embedding=old.embedding if op.embedding is None else check_embedding(op.embedding),
        )
        check_interval(row.valid_from, row.valid_to)
        old_to = old.valid_to
        if op.close_validity and old_to is None:
            old_to = now if new_from is None else new_from
            if old.valid_from is not None and old_to < old.valid_from:
                raise InvalidRecordError(
                    f"valid_from {old_to.isoformat()} is before the current version's "
                    f"valid_from {old.valid_from.isoformat()}, so its validity cannot end "
                    "there; pass close_validity=False to correct the start instead"
                )
        self._supersede(old, now, old_to)
        self._write(row)
        self._log(row.id, Operation.UPDATE, old, row, op.info, now)
        return row

    def credit(self, op: CreditOp) -> Row:
        """Version + 1 with ``delta`` added to the utility; a deleted memory stays as it is."""
        old = self.current(memory_id_arg(op.memory_id))
        if old.deleted:
            return old
        utility = old.utility + check_float(op.delta, "credit delta")
        return self.update(UpdateOp(old.id, old.version, utility=utility, info=op.info))

    def link(self, rows: Sequence[list[Any]]) -> None:
        """Add checked edges (see :func:`edge_row`)."""
        now = self._tick()
        self._edges.extend([*row[:-1], now] for row in rows)

    def add_tasks(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Add checked task nodes (see :func:`task_row`); their ids must be new."""
        ids = [row[0] for row in rows]
        if len(set(ids)) < len(ids):
            raise InvalidRecordError(f"task ids repeat in one batch: {short(ids)}")
        taken = self._cur.execute(
            "SELECT id FROM tasks WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]
        ).fetchall()
        if taken:
            raise InvalidRecordError(f"task id {short(taken[0][0])} is already used")
        now = self._tick()
        self._tasks.extend((*row[:3], now, row[3]) for row in rows)

    def delete(self, op: DeleteOp) -> Row:
        """Supersede the current version with a tombstone (a copy marked ``deleted``)."""
        memory_id = memory_id_arg(op.memory_id)
        old = self.current(memory_id)
        expected = op.expected_version
        if expected is not None and (old.deleted or old.version != expected):
            raise VersionConflictError(memory_id, expected, None if old.deleted else old.version)
        if old.deleted:
            raise MemoryNotFoundError(f"memory {short(memory_id)} is already deleted")
        now = self._tick()
        self._supersede(old, now, old.valid_to)
        tomb = dataclasses.replace(old, version=old.version + 1, recorded_at=now, deleted=True)
        self._write(tomb)
        self._log(memory_id, Operation.DELETE, old, None, op.info, now, tomb.version)
        return tomb

    def _supersede(self, old: Row, now: datetime, valid_to: datetime | None) -> None:
        key = (old.id, old.version)
        if key in self._new:  # written earlier in this batch: stamp before inserting
            self._new[key] = dataclasses.replace(old, superseded_at=now, valid_to=valid_to)
        else:
            self._stamps[self._rowids[key]] = (now, valid_to)

    def _write(self, row: Row) -> None:
        """Queue ``row`` as the memory's current version and sync its MENTIONS edges."""
        self._new[(row.id, row.version)] = row
        self._current[row.id] = row
        now = row.recorded_at
        wanted: dict[str, str] = {}
        if not row.deleted:  # a deleted memory mentions nothing from now on
            for name in row.entities:
                key = normalize_entity(name)
                wanted.setdefault(entity_node_id(key), name)
                self._entities.setdefault(key, (name, now))
        open_edges = self._open[row.id]
        for dst in [d for d in open_edges if d not in wanted]:
            index = open_edges.pop(dst)
            if index < 0:
                self._closed.append((-1 - index, now))
            else:
                self._edges[index][7] = now
        for dst in wanted:
            if dst not in open_edges:
                open_edges[dst] = len(self._edges)
                self._edges.append(
                    [
                        row.id,
                        "memory",
                        dst,
                        "entity",
                        "mentions",
                        1.0,
                        None,
                        None,
                        row.namespace,
                        now,
                    ]
                )

    def _log(
        self,
        memory_id: str,
        operation: Operation,
        old: Row | None,
        new: Row | None,
        info: ChangeInfo,
        at: datetime,
        new_version: int | None = None,
    ) -> None:
        self._history.append(
            (
                uuid.uuid4().hex,
                memory_id,
                operation.value,
                None if old is None else old.text,
                None if new is None else new.text,
                None if old is None else old.version,
                new.version if new is not None else new_version,
                info.actor,
                at,
                info.policy,
                info.confidence,
                info.reason,
            )
        )

    def flush(self, appended: Appended) -> None:
        """Write the batch: one statement per table touched; list the rows in ``appended``."""
        if self._stamps:
            stamps = pa.table(
                {
                    "rid": pa.array(list(self._stamps), _INT),
                    "superseded_at": _naive_ts([t[0] for t in self._stamps.values()]),
                    "valid_to": _naive_ts([t[1] for t in self._stamps.values()]),
                }
            )
            self._run(
                "UPDATE memories SET superseded_at = s.superseded_at, valid_to = s.valid_to "
                "FROM {t} s WHERE memories.rowid = s.rid",
                stamps,
            )
        if self._new:
            self._run(
                "INSERT INTO memories SELECT * FROM {t}", _rows_table(list(self._new.values()))
            )
            appended.memories.extend(key[0] for key in self._new)
        if self._history:
            names = [
                "event_id",
                "memory_id",
                "operation",
                "old_text",
                "new_text",
                "old_version",
                "new_version",
                "actor",
                "at",
                "policy",
                "confidence",
                "reason",
            ]
            types = [_STR, _STR, _STR, _STR, _STR, _INT, _INT, _STR, _TS, _STR, _FLOAT, _STR]
            cols = list(zip(*self._history, strict=True))
            table = pa.table(
                [pa.array(c, t) for c, t in zip(cols, types, strict=True)], names=names
            )
            self._run("INSERT INTO history SELECT * FROM {t}", table)
            appended.history.extend(str(entry[1]) for entry in self._history)
        if self._entities:
            known = self._cur.execute(
                "SELECT id FROM entities WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                [list(self._entities)],
            ).fetchall()
            seen = {r[0] for r in known}
            fresh = {k: v for k, v in self._entities.items() if k not in seen}
            if fresh:
                table = pa.table(
                    {
                        "id": list(fresh),
                        "name": [name for name, _ in fresh.values()],
                        "first_seen": _naive_ts([at for _, at in fresh.values()]),
                    }
                )
                self._run("INSERT INTO entities SELECT * FROM {t}", table)
        if self._closed:
            table = pa.table(
                {
                    "rid": pa.array([c[0] for c in self._closed], _INT),
                    "valid_to": _naive_ts([c[1] for c in self._closed]),
                }
            )
            self._run(
                "UPDATE edges SET valid_to = c.valid_to FROM {t} c WHERE edges.rowid = c.rid",
                table,
            )
        if self._edges:
            cols = list(zip(*self._edges, strict=True))
            types = [_STR, _STR, _STR, _STR, _STR, _FLOAT, _TS, _TS, _STR, _TS]
            names = list(EDGE_NAMES)
            table = pa.table(
                [pa.array(c, t) for c, t in zip(cols, types, strict=True)], names=names
            )
            self._run("INSERT INTO edges SELECT * FROM {t}", table)
            appended.edges.extend((str(edge[0]), str(edge[2])) for edge in self._edges)
        if self._tasks:
            cols = list(zip(*self._tasks, strict=True))
            types = [_STR, _STR, _STR, _TS, _STR]
            names = ["id", "namespace", "text", "created_at", "metadata"]
            table = pa.table(
                [pa.array(c, t) for c, t in zip(cols, types, strict=True)], names=names
            )
            self._run("INSERT INTO tasks SELECT * FROM {t}", table)

    def _run(self, sql: str, table: pa.Table) -> None:
        """Run ``sql`` with ``{t}`` standing for ``table``'s rows.

        A few rows (a single ``add`` or ``update``) go as bound parameters of a ``VALUES``
        list: registering an Arrow table costs DuckDB ~1.5 ms and scanning it ~2-3 ms more,
        a statement's whole cost at that size (an add 13.8 -> 7.5 ms at p50). Batches go
        as Arrow, which binds no value one by one.
        """
        if table.num_rows <= _AS_VALUES:
            columns = ", ".join(f'"{name}"' for name in table.column_names)
            row = "(" + ", ".join("?" * table.num_columns) + ")"
            rows = ", ".join([row] * table.num_rows)
            by_column = table.to_pydict().values()
            values = [value for record in zip(*by_column, strict=True) for value in record]
            self._cur.execute(sql.format(t=f"(FROM (VALUES {rows}) v({columns}))"), values)
            return
        name = f"colony_batch_{uuid.uuid4().hex}"
        self._cur.register(name, table)
        try:
            self._cur.execute(sql.format(t=name))
        finally:
            self._cur.unregister(name)


_AS_VALUES = 8
_STR = pa.string()
_INT = pa.int64()
_FLOAT = pa.float64()
_TS = pa.timestamp("us")
EDGE_NAMES = (
    "src",
    "src_kind",
    "dst",
    "dst_kind",
    "type",
    "weight",
    "valid_from",
    "valid_to",
    "namespace",
    "created_at",
)


def _rows_table(rows: list[Row]) -> pa.Table:
    """Rows as an Arrow table in ``memories`` column order (naive UTC times)."""
    return pa.table(
        {
            "id": pa.array([r.id for r in rows], _STR),
            "version": pa.array([r.version for r in rows], _INT),
            "namespace": pa.array([r.namespace for r in rows], _STR),
            "tier": pa.array([r.tier for r in rows], _STR),
            "text": pa.array([r.text for r in rows], _STR),
            "author": pa.array([r.author for r in rows], _STR),
            "recorded_at": _naive_ts([r.recorded_at for r in rows]),
            "superseded_at": _naive_ts([r.superseded_at for r in rows]),
            "valid_from": _naive_ts([r.valid_from for r in rows]),
            "valid_to": _naive_ts([r.valid_to for r in rows]),
            "entities": pa.array([list(r.entities) for r in rows], pa.list_(_STR)),
            "provenance": pa.array([list(r.provenance) for r in rows], pa.list_(_STR)),
            "metadata": pa.array([r.metadata for r in rows], _STR),
            "trust": pa.array([r.trust for r in rows], _FLOAT),
            "utility": pa.array([r.utility for r in rows], _FLOAT),
            "deleted": pa.array([r.deleted for r in rows], pa.bool_()),
            "embedding": pa.array([r.embedding for r in rows], pa.list_(pa.float32())),
        }
    )
