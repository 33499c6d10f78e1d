"""Set-based Arrow bulk I/O for :class:`memory._duckdb.DuckDBStore`.

An import is checked column-wise (pyarrow and one SQL pass), then written with
``INSERT ... SELECT`` from the registered Arrow table: memories, one history row per imported
row, entities and MENTIONS edges. No Python object is built per row.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from memory._checks import MAX_ID_CHARS, MAX_TEXT_CHARS, normalize_entity, short
from memory._duckdb_schema import ARROW_SCHEMA
from memory._namespace import MAX_DEPTH, MAX_LABEL_LEN
from memory._types import Tier
from memory.errors import InvalidInputError, InvalidRecordError

# Mirrors memory._namespace._LABEL; checked in SQL so a million rows need no Python loop.
_LABEL_RE = f"[A-Za-z0-9_\\-.:@]{{1,{MAX_LABEL_LEN}}}"
_BLANK_RE = "[\\s\\p{Z}]*"
_NAIVE_TS = pa.timestamp("us")
_SRC = "colony_import_src"
_MAP = "colony_import_entities"
_ROW = "colony_row"  # position of each input row, so errors can name it

_RECORD_COLUMNS = ", ".join(field.name for field in ARROW_SCHEMA)


def read_parquet(path: str | os.PathLike[str]) -> pa.Table:
    """The table in the Parquet file at ``path``; a file that is missing, unreadable or not
    Parquet raises :class:`InvalidInputError` naming it."""
    try:
        return pq.read_table(os.fspath(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InvalidInputError(f"cannot read Parquet file {os.fspath(path)!r}: {exc}") from exc


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write ``table`` to ``path`` as Parquet; a path that cannot be written (a missing
    folder, a folder, no permission) raises :class:`InvalidInputError` naming it."""
    try:
        pq.write_table(table, os.fspath(path))
    except OSError as exc:
        raise InvalidInputError(f"cannot write Parquet file {os.fspath(path)!r}: {exc}") from exc


def _is_str(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_list_of(t: pa.DataType, item: Callable[[pa.DataType], bool]) -> bool:
    is_list = (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
    )
    return bool(is_list and item(t.value_type))


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_floating(t) or pa.types.is_integer(t))


_ACCEPTS: dict[str, tuple[Callable[[pa.DataType], bool], str]] = {
    "id": (_is_str, "string"),
    "version": (pa.types.is_integer, "integer"),
    "namespace": (_is_str, "'/'-joined string"),
    "tier": (_is_str, "string"),
    "text": (_is_str, "string"),
    "author": (_is_str, "string"),
    "recorded_at": (pa.types.is_timestamp, "timestamp"),
    "superseded_at": (pa.types.is_timestamp, "timestamp"),
    "valid_from": (pa.types.is_timestamp, "timestamp"),
    "valid_to": (pa.types.is_timestamp, "timestamp"),
    "entities": (lambda t: _is_list_of(t, _is_str), "list of strings"),
    "provenance": (lambda t: _is_list_of(t, _is_str), "list of strings"),
    "metadata": (_is_str, "JSON object text"),
    "trust": (_is_number, "number"),
    "utility": (_is_number, "number"),
    "deleted": (pa.types.is_boolean, "boolean"),
    "embedding": (lambda t: _is_list_of(t, pa.types.is_floating), "list of floats"),
}
_REQUIRED = ("namespace", "text")


def export_table(
    cur: duckdb.DuckDBPyConnection, where: str, params: list[object], *, ordered: bool = True
) -> pa.Table:
    """Rows of ``memories`` matching ``where`` as an :data:`ARROW_SCHEMA` table: by
    recording time, or as stored (``ordered=False``)."""
    columns = _RECORD_COLUMNS.replace("metadata", "metadata::VARCHAR AS metadata")
    order = " ORDER BY recorded_at, id, version" if ordered else ""
    sql = f"SELECT {columns} FROM memories WHERE {where}{order}"
    table = cur.execute(sql, params).to_arrow_table()
    # Stored times are naive UTC; casting to tz=UTC keeps the values and labels them.
    return table.cast(ARROW_SCHEMA)


def conform(table: object, *, actor: str, now: datetime) -> pa.Table:
    """Check ``table``'s columns against :data:`ARROW_SCHEMA` and fill defaults.

    Missing optional columns and nulls get defaults (a fresh id, version 1, tier semantic,
    author ``actor``, recorded now, no entities, ``{}`` metadata, trust 1, utility 0). Times
    come back naive UTC, ready for DuckDB ``TIMESTAMP`` columns.
    """
    if not isinstance(table, pa.Table):
        raise InvalidRecordError(f"import_arrow needs a pyarrow.Table, got {short(table)}")
    names = table.column_names
    unknown = sorted(set(names) - set(ARROW_SCHEMA.names))
    if unknown:
        raise InvalidRecordError(
            f"import table has unknown columns {unknown}; expected a subset of "
            f"{ARROW_SCHEMA.names} (memory._duckdb.ARROW_SCHEMA)"
        )
    if len(set(names)) != len(names):
        raise InvalidRecordError(f"import table has duplicate column names: {names}")
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise InvalidRecordError(f"import table lacks required columns {missing}")
    n = table.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for target in ARROW_SCHEMA:
        want = target.type
        if pa.types.is_timestamp(want):
            want = _NAIVE_TS
        if target.name not in names:
            columns[target.name] = pa.nulls(n, want)
            continue
        column = table.column(target.name)
        accepts, label = _ACCEPTS[target.name]
        if not (pa.types.is_null(column.type) or accepts(column.type)):
            raise InvalidRecordError(
                f"import column {target.name!r} has type {column.type}, expected {label} "
                f"({target.type})"
            )
        try:
            if pa.types.is_timestamp(column.type) and column.type.tz is None:
                cast = column.cast(pa.timestamp("us"), safe=False)  # naive input means UTC
            elif pa.types.is_timestamp(column.type):
                cast = column.cast(pa.timestamp("us", tz="UTC"), safe=False).cast(want)
            else:
                cast = column.cast(want)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidRecordError(
                f"import column {target.name!r} cannot be read as {target.type}: {exc}"
            ) from None
        columns[target.name] = cast
    for name in _REQUIRED:
        nulls = columns[name].null_count
        if nulls:
            row = int(np.flatnonzero(pc.is_null(columns[name]).to_numpy(zero_copy_only=False))[0])
            raise InvalidRecordError(f"import row {row}: {name} is null; every row needs one")
    ids = columns["id"]
    if ids.null_count:
        fresh = pa.array([uuid.uuid4().hex for _ in range(ids.null_count)], pa.string())
        columns["id"] = pc.replace_with_mask(ids, pc.is_null(ids), fresh)
    defaults: dict[str, pa.Scalar] = {
        "version": pa.scalar(1, pa.int64()),
        "tier": pa.scalar(Tier.SEMANTIC.value, pa.string()),
        "author": pa.scalar(actor, pa.string()),
        "recorded_at": pa.scalar(now, _NAIVE_TS),
        "entities": pa.scalar([], pa.list_(pa.string())),
        "provenance": pa.scalar([], pa.list_(pa.string())),
        "metadata": pa.scalar("{}", pa.string()),
        "trust": pa.scalar(1.0, pa.float64()),
        "utility": pa.scalar(0.0, pa.float64()),
        "deleted": pa.scalar(False, pa.bool_()),
    }
    for name, value in defaults.items():
        if columns[name].null_count:
            columns[name] = pc.fill_null(columns[name], value)
    _check_embeddings(columns["embedding"])
    columns[_ROW] = pa.array(np.arange(n, dtype=np.int64))
    return pa.table(columns)


def _check_embeddings(column: pa.Array | pa.ChunkedArray) -> None:
    """Every embedding is null or a non-empty list of finite floats.

    Chunk by chunk, without copies: combining chunks or a full ``isfinite`` mask cost 4 s of
    a million-row import; a min/max pass finds any NaN or inf in 0.2 s.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    start = 0
    for arr in chunks:
        _check_embedding_chunk(arr, start)
        start += len(arr)


def _check_embedding_chunk(arr: pa.Array, start: int) -> None:
    """:func:`_check_embeddings` for one chunk whose first row is import row ``start``."""
    if arr.null_count == len(arr):
        return
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise InvalidRecordError(f"import row {start + int(empty[0])}: embedding is an empty list")
    flat = arr.flatten()
    if flat.null_count == 0:
        values = flat.to_numpy(zero_copy_only=False)
        if values.size == 0 or (np.isfinite(values.min()) and np.isfinite(values.max())):
            return
    # Something is wrong: find the first offending value and name its row.
    ends = np.cumsum(np.nan_to_num(lengths, nan=0.0).astype(np.int64))
    if flat.null_count:
        bad = int(np.flatnonzero(pc.is_null(flat).to_numpy(zero_copy_only=False))[0])
        row = start + int(np.searchsorted(ends, bad, side="right"))
        raise InvalidRecordError(f"import row {row}: embedding holds a null value")
    bad = int(np.argmin(np.isfinite(values)))
    row = start + int(np.searchsorted(ends, bad, side="right"))
    raise InvalidRecordError(
        f"import row {row}: embedding must be finite, found {values[bad]!r} "
        "(float64 values beyond float32 range become inf)"
    )


_BLANK_ITEM = (
    "list_bool_or(list_transform({column}, lambda x: x IS NULL OR regexp_full_match(x, $blank)))"
)

# (field, condition that marks a bad row, what a good value is). Conditions read the
# registered import table; the only parameters are the constants after the list.
_ROW_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "id",
        f"regexp_full_match(id, $blank) OR length(id) > {MAX_ID_CHARS} OR contains(id, chr(0))",
        f"a non-empty string of at most {MAX_ID_CHARS} characters",
    ),
    ("version", "version < 1", "an integer >= 1"),
    (
        "namespace",
        f"NOT (len(string_split(namespace, '/')) <= {MAX_DEPTH} AND list_bool_and("
        "list_transform(string_split(namespace, '/'), lambda x: regexp_full_match(x, $label))))",
        f"1-{MAX_DEPTH} '/'-separated labels of letters, digits or _ - . : @",
    ),
    ("tier", "NOT list_contains($tiers, tier)", f"one of {[t.value for t in Tier]}"),
    ("text", "regexp_full_match(text, $blank)", "non-blank text"),
    ("text", f"length(text) > {MAX_TEXT_CHARS}", f"at most {MAX_TEXT_CHARS} characters"),
    ("text", "contains(text, chr(0))", "text without NUL characters"),
    (
        "author",
        f"regexp_full_match(author, $blank) OR length(author) > {MAX_ID_CHARS}",
        "a non-empty name",
    ),
    (
        "metadata",
        "CASE WHEN json_valid(metadata) THEN json_type(metadata) <> 'OBJECT' ELSE TRUE END",
        "a JSON object",
    ),
    ("trust", "NOT (trust >= 0 AND trust <= 1)", "a number in [0, 1]"),
    ("utility", "NOT isfinite(utility)", "a finite number"),
    ("valid_to", "valid_from > valid_to", "not before valid_from"),
    ("superseded_at", "superseded_at < recorded_at", "not before recorded_at"),
    ("entities", _BLANK_ITEM.format(column="entities"), "non-blank names"),
    ("provenance", _BLANK_ITEM.format(column="provenance"), "non-blank ids"),
)


def validate(cur: duckdb.DuckDBPyConnection) -> None:
    """Refuse the registered import table if any row or id is bad (one SQL pass per check)."""
    params = {"blank": _BLANK_RE, "label": _LABEL_RE, "tiers": [t.value for t in Tier]}
    firsts = ", ".join(f"min(CASE WHEN {cond} THEN {_ROW} END)" for _, cond, _ in _ROW_RULES)
    found = cur.execute(f"SELECT {firsts} FROM {_SRC}", params).fetchone()
    assert found is not None
    for (field, _, good), row in zip(_ROW_RULES, found, strict=True):
        if row is not None:
            value = cur.execute(f"SELECT {field} FROM {_SRC} WHERE {_ROW} = ?", [row]).fetchone()
            shown = short(value[0] if value else None)
            raise InvalidRecordError(f"import row {row}: {field} must be {good}, got {shown}")
    dup = cur.execute(
        f"SELECT id, version FROM {_SRC} GROUP BY id, version HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if dup:
        raise InvalidRecordError(f"import table repeats id {dup[0]!r} version {dup[1]}")
    taken = cur.execute(
        f"SELECT s.id FROM {_SRC} s SEMI JOIN memories m ON s.id = m.id LIMIT 1"
    ).fetchone()
    if taken:
        raise InvalidRecordError(
            f"import id {taken[0]!r} is already in the store; imports add new memories only "
            "(drop the id column to get fresh ids)"
        )
    broken = cur.execute(
        f"""
        SELECT id FROM {_SRC} GROUP BY id
        HAVING count(*) FILTER (superseded_at IS NULL) > 1
            OR (count(*) FILTER (superseded_at IS NULL) = 1
                AND max(version) <> max(version) FILTER (superseded_at IS NULL))
        LIMIT 1
        """
    ).fetchone()
    if broken:
        raise InvalidRecordError(
            f"import id {broken[0]!r}: only its highest version may have superseded_at null"
        )


@contextmanager
def single_threaded(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run DuckDB on one thread for a bulk insert, then restore the thread count.

    Measured on 2 cores: the parallel insert path (per-thread row groups merged at commit)
    took twice the wall and CPU time of the serial one for 384-d embeddings. The setting is
    database-wide, so concurrent readers also run on one thread meanwhile.
    """
    row = conn.execute("SELECT current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    conn.execute("SET threads = 1")
    try:
        yield
    finally:
        conn.execute(f"SET threads = {threads}")  # SET takes no parameters; an int is safe


def insert(cur: duckdb.DuckDBPyConnection, table: pa.Table, *, actor: str, now: datetime) -> int:
    """Check and write a :func:`conform`-ed table inside the caller's transaction."""
    cur.register(_SRC, table)
    try:
        validate(cur)
        cur.execute(f"INSERT INTO memories SELECT {_RECORD_COLUMNS} FROM {_SRC}")
        cur.execute(
            f"""
            INSERT INTO history
            SELECT replace(uuid()::VARCHAR, '-', ''), id,
                   CASE WHEN deleted THEN 'DELETE' WHEN version > 1 THEN 'UPDATE' ELSE 'ADD' END,
                   CASE WHEN deleted THEN text END,
                   CASE WHEN deleted THEN NULL ELSE text END,
                   CASE WHEN version > 1 THEN version - 1 END,
                   version, ?, ?, NULL, NULL, 'import'
            FROM {_SRC}
            """,
            [actor, now],
        )
        _link_entities(cur, now)
    finally:
        cur.unregister(_SRC)
    return table.num_rows


def _link_entities(cur: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Upsert the imported entity names and add MENTIONS edges from current memories."""
    raw = cur.execute(f"SELECT DISTINCT unnest(entities) FROM {_SRC}").fetchall()
    if not raw:
        return
    # Normalised in Python over distinct names only, so keys match the write path exactly.
    names = [str(row[0]) for row in raw]
    mapping = pa.table(
        {"raw": pa.array(names), "norm": pa.array([normalize_entity(n) for n in names])}
    )
    cur.register(_MAP, mapping)
    try:
        cur.execute(
            f"""
            INSERT INTO entities
            SELECT norm, min(raw), ? FROM {_MAP}
            WHERE norm NOT IN (SELECT id FROM entities)
            GROUP BY norm
            """,
            [now],
        )
        cur.execute(
            f"""
            INSERT INTO edges
            SELECT DISTINCT s.id, 'memory', 'entity:' || m.norm, 'entity', 'mentions', 1.0,
                   NULL::TIMESTAMP, NULL::TIMESTAMP, s.namespace, ?::TIMESTAMP
            FROM (SELECT id, namespace, unnest(entities) AS raw FROM {_SRC}
                  WHERE superseded_at IS NULL AND NOT deleted) s
            JOIN {_MAP} m USING (raw)
            """,
            [now],
        )
    finally:
        cur.unregister(_MAP)
