"""The versioned write path of :class:`memory._duckdb.DuckDBStore`.

Each function runs inside the caller's transaction on the caller's cursor. ``tick`` hands out
the store's strictly increasing "now" (naive UTC).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

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
from memory._namespace import join_namespace, split_namespace, validate_namespace
from memory._types import (
    AddOp,
    ChangeInfo,
    DeleteOp,
    MemoryRecord,
    Operation,
    Tier,
    UpdateOp,
    Vector,
)
from memory.errors import (
    InvalidInputError,
    InvalidRecordError,
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

    def params(self) -> list[object]:
        """Values for ``INSERT INTO memories VALUES (...)``."""
        emb = None if self.embedding is None else self.embedding.tolist()
        return [
            self.id,
            self.version,
            self.namespace,
            self.tier,
            self.text,
            self.author,
            self.recorded_at,
            self.superseded_at,
            self.valid_from,
            self.valid_to,
            list(self.entities),
            list(self.provenance),
            self.metadata,
            self.trust,
            self.utility,
            self.deleted,
            emb,
        ]

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


def check_op(op: object) -> None:
    """Refuse anything but a write op with a well-formed ChangeInfo."""
    if not isinstance(op, AddOp | UpdateOp | DeleteOp):
        raise InvalidInputError(f"ops must be AddOp, UpdateOp or DeleteOp, got {short(op)}")
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


def add(cur: duckdb.DuckDBPyConnection, row: Row, info: ChangeInfo, tick: Tick) -> Row:
    """Write version 1 of a checked new memory."""
    taken = cur.execute("SELECT 1 FROM memories WHERE id = ? LIMIT 1", [row.id]).fetchone()
    if taken:
        raise InvalidRecordError(f"id {short(row.id)} is already used by another memory")
    now = tick()
    row = dataclasses.replace(row, recorded_at=now)
    _insert(cur, row)
    _link_entities(cur, row, now)
    _log(cur, row.id, Operation.ADD, None, row, info, now)
    return row


def current(cur: duckdb.DuckDBPyConnection, memory_id: str) -> Row:
    """The current row of a memory (a tombstone if it is deleted)."""
    found = cur.execute(
        f"SELECT {COLUMNS}, embedding FROM memories WHERE id = ? AND superseded_at IS NULL",
        [memory_id],
    ).fetchone()
    if found is None:
        raise MemoryNotFoundError(f"no memory with id {short(memory_id)}")
    return Row.from_db(found, with_embedding=True)


def update(cur: duckdb.DuckDBPyConnection, op: UpdateOp, tick: Tick) -> Row:
    """Compare-and-set: write version ``expected_version + 1``, keeping unset fields."""
    old = current(cur, memory_id_arg(op.memory_id))
    if old.deleted or old.version != op.expected_version:
        actual = None if old.deleted else old.version
        raise VersionConflictError(op.memory_id, op.expected_version, actual)
    now = tick()
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
        entities=old.entities if op.entities is None else check_strings(op.entities, "entities"),
        provenance=(
            old.provenance if op.provenance is None else check_strings(op.provenance, "provenance")
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
                f"valid_from {old_to.isoformat()} is before the current version's valid_from "
                f"{old.valid_from.isoformat()}, so its validity cannot end there; pass "
                "close_validity=False to correct the start instead"
            )
    cur.execute(
        "UPDATE memories SET superseded_at = ?, valid_to = ? WHERE id = ? AND version = ?",
        [now, old_to, old.id, old.version],
    )
    _insert(cur, row)
    _link_entities(cur, row, now)
    _log(cur, row.id, Operation.UPDATE, old, row, op.info, now)
    return row


def delete(cur: duckdb.DuckDBPyConnection, op: DeleteOp, tick: Tick) -> Row:
    """Supersede the current version with a tombstone (a copy marked ``deleted``)."""
    memory_id = memory_id_arg(op.memory_id)
    old = current(cur, memory_id)
    expected = op.expected_version
    if expected is not None and (old.deleted or old.version != expected):
        raise VersionConflictError(memory_id, expected, None if old.deleted else old.version)
    if old.deleted:
        raise MemoryNotFoundError(f"memory {short(memory_id)} is already deleted")
    now = tick()
    cur.execute(
        "UPDATE memories SET superseded_at = ? WHERE id = ? AND version = ?",
        [now, old.id, old.version],
    )
    tomb = dataclasses.replace(old, version=old.version + 1, recorded_at=now, deleted=True)
    _insert(cur, tomb)
    # A deleted memory mentions nothing from now on; edges(as_of=earlier) still shows them.
    cur.execute(
        "UPDATE edges SET valid_to = ? WHERE src = ? AND src_kind = 'memory' "
        "AND type = 'mentions' AND valid_to IS NULL",
        [now, memory_id],
    )
    _log(cur, memory_id, Operation.DELETE, old, None, op.info, now, tomb.version)
    return tomb


def _insert(cur: duckdb.DuckDBPyConnection, row: Row) -> None:
    cur.execute(
        "INSERT INTO memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row.params(),
    )


def _link_entities(cur: duckdb.DuckDBPyConnection, row: Row, now: datetime) -> None:
    """Upsert the row's entities; open MENTIONS edges to new ones, close dropped ones."""
    names: dict[str, str] = {}
    for name in row.entities:
        names.setdefault(normalize_entity(name), name)
    if names:
        cur.execute(
            "INSERT INTO entities SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ? "
            "ON CONFLICT (id) DO NOTHING",
            [list(names), list(names.values()), now],
        )
    nodes = [entity_node_id(key) for key in names]
    cur.execute(
        "UPDATE edges SET valid_to = ? WHERE src = ? AND src_kind = 'memory' "
        "AND type = 'mentions' AND valid_to IS NULL AND NOT list_contains(?::VARCHAR[], dst)",
        [now, row.id, nodes],
    )
    cur.execute(
        """
        INSERT INTO edges
        SELECT ?, 'memory', n, 'entity', 'mentions', 1.0, NULL, NULL, ?, ?
        FROM unnest(?::VARCHAR[]) AS t(n)
        WHERE n NOT IN (SELECT dst FROM edges WHERE src = ? AND type = 'mentions'
                        AND valid_to IS NULL)
        """,
        [row.id, row.namespace, now, nodes, row.id],
    )


def _log(
    cur: duckdb.DuckDBPyConnection,
    memory_id: str,
    operation: Operation,
    old: Row | None,
    new: Row | None,
    info: ChangeInfo,
    at: datetime,
    new_version: int | None = None,
) -> None:
    cur.execute(
        "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
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
        ],
    )
