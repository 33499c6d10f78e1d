"""DuckDB schema of a Colony store: ordered migrations, the Arrow export schema, opening files.

The migrations are append-only: a released step is never edited, a change is a new step.
``colony_migrations`` records which steps a file has, so reopening never re-runs one. (Step 1
lost its indexes in place, before any store file existed outside tests.)

The large tables (memories, history, edges) have no index and no key. In DuckDB 1.5 an ART
index on a bulk-loaded ``memories`` made every small write append 1-2.4 MB to the WAL, so a
checkpoint fired every ~10 writes (duckdb/duckdb#24848), and every checkpoint re-serialised
each changed index (one on history or edges added ~0.2 s per checkpoint at 200k rows).
The store checks uniqueness itself, as the file's only writer, and reads points through its
in-memory id -> rowid map (:mod:`memory._duckdb_rowids`). The small entities and tasks
tables keep their primary keys: those cost no WAL and little checkpoint time.
"""

from __future__ import annotations

import importlib
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from memory._duckdb_sql import sql_literal
from memory.errors import InvalidInputError, StoreCorruptError, StoreError, StoreLockedError

# Each step is a tuple of statements applied in one transaction, in order, exactly once per file.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE memories (
            id VARCHAR NOT NULL,
            version BIGINT NOT NULL,
            namespace VARCHAR NOT NULL,
            tier VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            author VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL,
            superseded_at TIMESTAMP,
            valid_from TIMESTAMP,
            valid_to TIMESTAMP,
            entities VARCHAR[] NOT NULL,
            provenance VARCHAR[] NOT NULL,
            metadata JSON NOT NULL,
            trust DOUBLE NOT NULL,
            utility DOUBLE NOT NULL,
            deleted BOOLEAN NOT NULL,
            -- Embeddings are noise to a float codec: analysing them doubled bulk-load time
            -- and saved nothing, so they are stored as they are.
            embedding FLOAT[] USING COMPRESSION uncompressed
        )
        """,
        """
        CREATE TABLE history (
            event_id VARCHAR NOT NULL,
            memory_id VARCHAR NOT NULL,
            operation VARCHAR NOT NULL,
            old_text VARCHAR,
            new_text VARCHAR,
            old_version BIGINT,
            new_version BIGINT,
            actor VARCHAR NOT NULL,
            "at" TIMESTAMP NOT NULL,
            policy VARCHAR,
            confidence DOUBLE,
            reason VARCHAR
        )
        """,
        """
        CREATE TABLE entities (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE edges (
            src VARCHAR NOT NULL,
            src_kind VARCHAR NOT NULL,
            dst VARCHAR NOT NULL,
            dst_kind VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            weight DOUBLE NOT NULL,
            valid_from TIMESTAMP,
            valid_to TIMESTAMP,
            namespace VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE tasks (
            id VARCHAR PRIMARY KEY,
            namespace VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            metadata JSON NOT NULL
        )
        """,
    ),
)

# What a current file must look like; checked after migrating, so a damaged or foreign file
# is refused instead of being written to.
EXPECTED_COLUMNS: dict[str, dict[str, str]] = {
    "memories": {
        "id": "VARCHAR",
        "version": "BIGINT",
        "namespace": "VARCHAR",
        "tier": "VARCHAR",
        "text": "VARCHAR",
        "author": "VARCHAR",
        "recorded_at": "TIMESTAMP",
        "superseded_at": "TIMESTAMP",
        "valid_from": "TIMESTAMP",
        "valid_to": "TIMESTAMP",
        "entities": "VARCHAR[]",
        "provenance": "VARCHAR[]",
        "metadata": "JSON",
        "trust": "DOUBLE",
        "utility": "DOUBLE",
        "deleted": "BOOLEAN",
        "embedding": "FLOAT[]",
    },
    "history": {
        "event_id": "VARCHAR",
        "memory_id": "VARCHAR",
        "operation": "VARCHAR",
        "old_text": "VARCHAR",
        "new_text": "VARCHAR",
        "old_version": "BIGINT",
        "new_version": "BIGINT",
        "actor": "VARCHAR",
        "at": "TIMESTAMP",
        "policy": "VARCHAR",
        "confidence": "DOUBLE",
        "reason": "VARCHAR",
    },
    "entities": {"id": "VARCHAR", "name": "VARCHAR", "first_seen": "TIMESTAMP"},
    "edges": {
        "src": "VARCHAR",
        "src_kind": "VARCHAR",
        "dst": "VARCHAR",
        "dst_kind": "VARCHAR",
        "type": "VARCHAR",
        "weight": "DOUBLE",
        "valid_from": "TIMESTAMP",
        "valid_to": "TIMESTAMP",
        "namespace": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
    "tasks": {
        "id": "VARCHAR",
        "namespace": "VARCHAR",
        "text": "VARCHAR",
        "created_at": "TIMESTAMP",
        "metadata": "JSON",
    },
}

_TS = pa.timestamp("us", tz="UTC")

ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        # "/"-joined, as stored (memory._namespace.join_namespace); split_namespace decodes it.
        pa.field("namespace", pa.string(), nullable=False),
        pa.field("tier", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("author", pa.string(), nullable=False),
        pa.field("recorded_at", _TS, nullable=False),
        pa.field("superseded_at", _TS),
        pa.field("valid_from", _TS),
        pa.field("valid_to", _TS),
        pa.field("entities", pa.list_(pa.string()), nullable=False),
        pa.field("provenance", pa.list_(pa.string()), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),  # JSON object text
        pa.field("trust", pa.float64(), nullable=False),
        pa.field("utility", pa.float64(), nullable=False),
        pa.field("deleted", pa.bool_(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32())),
    ]
)
"""Columns of :meth:`DuckDBStore.export_arrow` and :meth:`DuckDBStore.import_arrow`."""

# Never download or autoload extensions: a store must work offline and write nothing to $HOME.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(path: str | os.PathLike[str], *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, translating failures into Colony store errors."""
    where = os.fspath(path)
    try:
        return duckdb.connect(where, read_only=read_only, config=CONNECT_CONFIG)
    except duckdb.Error as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise StoreLockedError(
                f"cannot open {where!r}: another process has it open, and one process owns a "
                "DuckDB file for writing; use that process's MemoryService (or its Ray actor "
                f"handle) instead of opening the file again ({message})"
            ) from exc
        if "not a valid DuckDB database" in message or isinstance(
            exc, duckdb.SerializationException | duckdb.InternalException
        ):
            raise StoreCorruptError(
                f"{where!r} is not a readable DuckDB database ({message}); it was not changed. "
                "Point Colony at a new path or restore the file from a backup"
            ) from exc
        raise StoreError(f"cannot open {where!r}: {message}") from exc


def _table_names(cur: duckdb.DuckDBPyConnection) -> set[str]:
    rows = cur.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def migrate(cur: duckdb.DuckDBPyConnection, where: str, *, read_only: bool) -> None:
    """Apply the missing migration steps, each once and in its own transaction.

    Raises:
        StoreCorruptError: the database holds Colony's tables without Colony's migration log,
            or its columns differ from the expected schema.
        StoreError: the file was written by a newer Colony, or needs migrating but is read-only.
    """
    tables = _table_names(cur)
    if "colony_migrations" not in tables:
        if "spans" in tables:  # traces.duckdb sits beside memory.duckdb: an easy slip
            raise StoreCorruptError(
                f"{where!r} is a Colony trace store (it holds spans), not a memory store; it "
                "was not changed. Give the memory store's path (memory.duckdb) or a new one"
            )
        foreign = sorted(tables & EXPECTED_COLUMNS.keys())
        if foreign:
            raise StoreCorruptError(
                f"{where!r} has tables {foreign} but no colony_migrations log: it is not a "
                "Colony store; it was not changed. Use another path"
            )
        applied: set[int] = set()
    else:
        rows = cur.execute("SELECT version FROM colony_migrations").fetchall()
        applied = {int(row[0]) for row in rows}
    newest = max(applied, default=0)
    if newest > len(MIGRATIONS):
        raise StoreError(
            f"{where!r} is at schema version {newest}, newer than this Colony understands "
            f"({len(MIGRATIONS)}); upgrade Colony to open it"
        )
    pending = [n for n in range(1, len(MIGRATIONS) + 1) if n not in applied]
    if pending and read_only:
        raise StoreError(
            f"{where!r} needs schema migrations {pending} but was opened read-only; "
            "open it once for writing to upgrade it"
        )
    for number in pending:
        cur.begin()
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS colony_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
            )
            for statement in MIGRATIONS[number - 1]:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO colony_migrations VALUES (?, ?)",
                [number, datetime.now(UTC).replace(tzinfo=None)],
            )
            cur.commit()
        except duckdb.Error as exc:
            cur.rollback()
            raise StoreError(f"{where!r}: migration {number} failed: {exc}") from exc
    check_schema(cur, where)


def check_schema(cur: duckdb.DuckDBPyConnection, where: str) -> None:
    """Raise :class:`StoreCorruptError` unless every table has the expected columns."""
    rows = cur.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        found.setdefault(str(table), {})[str(column)] = str(data_type)
    for table, columns in EXPECTED_COLUMNS.items():
        if found.get(table) != columns:
            raise StoreCorruptError(
                f"{where!r}: table {table!r} has columns {found.get(table)} but a Colony store "
                f"needs {columns}; the file was not changed"
            )


def load_bundled_extension(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load DuckDB's ``fts`` or ``vss`` extension from its pip wheel, offline.

    Autoinstall and autoload are turned off on ``conn`` first, so DuckDB never downloads an
    extension nor writes to ``$HOME``.

    Raises:
        InvalidInputError: ``name`` is not a bundled extension.
        StoreError: the wheel (``duckdb-extension-<name>``) is missing or does not load.
    """
    if name not in ("fts", "vss"):
        raise InvalidInputError(f"bundled extensions are 'fts' and 'vss', got {name!r}")
    try:
        package = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise StoreError(
            f"extension {name!r} needs the wheel duckdb-extension-{name}=={duckdb.__version__}"
        ) from exc
    assert package.__file__ is not None
    base = Path(package.__file__).parent / "extensions"
    path = base / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise StoreError(
            f"{path} not found: install duckdb-extension-{name}=={duckdb.__version__}, "
            "the version matching duckdb"
        )
    conn.execute("SET autoinstall_known_extensions = false")
    conn.execute("SET autoload_known_extensions = false")
    # LOAD takes no parameters; the path comes from the installed package, quotes escaped.
    try:
        conn.execute(f"LOAD {sql_literal(str(path))}")
    except duckdb.Error as exc:
        raise StoreError(f"cannot load the {name} extension from {path}: {exc}") from exc
