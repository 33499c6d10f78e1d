"""In-memory key -> rowid maps that stand in for indexes on the store's large tables.

DuckDB's ART indexes bloated the WAL of every small write and slowed every checkpoint (see
:mod:`memory._duckdb_schema`), so ``memories``, ``history`` and ``edges`` have none. The
store, the only writer of its file, keeps instead, per looked-up column, a map from a 64-bit
hash of the key to the rowids of the rows holding it, and reads those rows with
``rowid = ANY(?)``. DuckDB then decodes the 2048-row vector around each row, every selected
column of it: on a million memories with 384-d embeddings ~0.8 ms a row once its blocks are
cached and ~2-3 ms before (an ART lookup took ~0.2 and ~0.5 ms), where a scan by key takes
~20 ms.

Rowids are stable: DuckDB numbers appended rows on from the table's row count, the store never
DELETEs (a deletion is a tombstone row; a supersession updates timestamps in place, keeping the
rowid), and only deleted rows let a checkpoint renumber a table. The maps are rebuilt at every
open, so nothing about them is persisted.

Two keys may share a hash: a map returns a superset, and readers compare every row's key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

Hashes = npt.NDArray[np.uint64]
Rowids = npt.NDArray[np.int64]

_SEED = 0x9E3779B97F4A7C15
_MUL = 0xFF51AFD7ED558CCD
_MASK = 2**64 - 1
# Recent rows live in a dict until this many, then merge into the sorted arrays: a merge
# copies the arrays (~10 ms for a million rows), so it must stay rare.
COMPACT_AT = 65_536


def at_rowids(rowids: Sequence[int]) -> tuple[str, list[object]]:
    """A condition selecting the rows at ``rowids``, and its parameter.

    ``rowid = ANY(?)`` becomes a semi-join whose rowids are pushed into the scan as a filter;
    one rowid is a plain ``rowid = ?`` table filter (~1 ms less on a million rows).
    """
    if len(rowids) == 1:
        return "rowid = ?", [rowids[0]]
    return "rowid = ANY(?::BIGINT[])", [list(rowids)]


def key_hash(key: str) -> int:
    """The 64-bit hash of one key, equal to :func:`hash_keys` on the same string."""
    data = key.encode()
    h = _SEED ^ len(data)
    for start in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[start : start + 8], "little")) * _MUL) & _MASK
        h ^= h >> 32
    return h


def hash_keys(column: pa.Array | pa.ChunkedArray) -> Hashes:
    """:func:`key_hash` of every string of a non-null Arrow column, vectorised."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_hash_chunk(chunk) for chunk in chunks if len(chunk)]
    return np.concatenate(parts) if parts else np.empty(0, np.uint64)


def _hash_chunk(arr: pa.Array) -> Hashes:
    """Hash 8 bytes of every string per step, longest strings first so a step is a slice."""
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], np.int64, len(arr) + 1, arr.offset * 8)
    lo, hi = int(offsets[0]), int(offsets[-1])
    padded = np.zeros(hi - lo + 8, np.uint8)  # zero bytes past the end of the last string
    if hi > lo:
        padded[: hi - lo] = np.frombuffer(arr.buffers()[2], np.uint8, hi - lo, lo)
    # Element i is the little-endian word starting at byte i (an overlapping view, no copy).
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    lengths, starts = lengths[order], offsets[:-1][order] - lo
    h = np.uint64(_SEED) ^ lengths.astype(np.uint64)
    mul, shift, ones = np.uint64(_MUL), np.uint64(32), np.uint64(_MASK)
    for byte in range(0, int(lengths[0]) if len(lengths) else 0, 8):
        live = int(np.searchsorted(-lengths, -byte, side="left"))  # rows longer than byte
        word = words[starts[:live] + byte]
        left = lengths[:live] - byte
        short = left < 8
        if short.any():  # mask the bytes past each string's end
            bits = (left[short] * 8).astype(np.uint64)
            word[short] &= ~(ones << bits)
        part = (h[:live] ^ word) * mul
        h[:live] = part ^ (part >> shift)
    out = np.empty_like(h)
    out[order] = h
    return out


class KeyRowids:
    """hash(key) -> rowids of one key column: sorted arrays plus a dict of recent rows.

    16 bytes a row (a Python dict of str -> int took ~140 MB per million). Only the store's
    writer mutates it, under the store's write lock; see ``DuckDBStore._read`` for readers.
    """

    def __init__(self, hashes: Hashes, rowids: Rowids) -> None:
        order = np.argsort(hashes, kind="stable")
        # One tuple, swapped whole, so a reader never pairs new hashes with old rowids.
        self._sorted: tuple[Hashes, Rowids] = (hashes[order], rowids[order])
        self._recent: dict[int, list[int]] = {}
        self._recent_rows = 0

    def __len__(self) -> int:
        return len(self._sorted[0]) + self._recent_rows

    def find(self, keys: Iterable[str]) -> list[int]:
        """Rowids of the rows that may hold any of ``keys``, ascending."""
        found: set[int] = set()
        for rowids in self.find_each(keys).values():
            found.update(rowids)
        return sorted(found)

    def find_each(self, keys: Iterable[str]) -> dict[str, list[int]]:
        """Each key's rowids (a superset: rows of keys sharing its hash too), ascending."""
        wanted = {key: key_hash(key) for key in keys}
        if not wanted:
            return {}
        sorted_hashes, sorted_rowids = self._sorted
        hashes = np.fromiter(wanted.values(), np.uint64, len(wanted))
        starts = np.searchsorted(sorted_hashes, hashes, side="left").tolist()
        ends = np.searchsorted(sorted_hashes, hashes, side="right").tolist()
        recent = self._recent
        out: dict[str, list[int]] = {}
        for (key, h), start, end in zip(wanted.items(), starts, ends, strict=True):
            rowids = sorted_rowids[start:end].tolist() if end > start else []
            out[key] = sorted(rowids + recent.get(h, []))
        return out

    def add(self, keys: Sequence[str], first: int) -> None:
        """Record rows ``first, first + 1, ...`` holding ``keys``."""
        for offset, key in enumerate(keys):
            self._recent.setdefault(key_hash(key), []).append(first + offset)
        self._recent_rows += len(keys)
        if self._recent_rows >= COMPACT_AT:
            self.compact()

    def add_arrays(self, keys: pa.Array | pa.ChunkedArray, rowids: Rowids) -> None:
        """Record many rows at once (a bulk import), merged straight into the arrays."""
        self._merge(hash_keys(keys), np.asarray(rowids, np.int64))

    def compact(self) -> None:
        """Merge the recent rows into the sorted arrays."""
        if not self._recent:
            return
        hashes = np.fromiter(
            (h for h, rows in self._recent.items() for _ in rows), np.uint64, self._recent_rows
        )
        rowids = np.fromiter(
            (r for rows in self._recent.values() for r in rows), np.int64, self._recent_rows
        )
        self._merge(hashes, rowids)
        self._recent = {}
        self._recent_rows = 0

    def _merge(self, hashes: Hashes, rowids: Rowids) -> None:
        order = np.argsort(hashes, kind="stable")
        hashes, rowids = hashes[order], rowids[order]
        old_hashes, old_rowids = self._sorted
        at = np.searchsorted(old_hashes, hashes, side="right")
        self._sorted = (np.insert(old_hashes, at, hashes), np.insert(old_rowids, at, rowids))

    def pairs(self) -> list[tuple[int, int]]:
        """Every ``(hash, rowid)``, sorted: for tests comparing a map with the table."""
        hashes, rowids = self._sorted
        out = list(zip(hashes.tolist(), rowids.tolist(), strict=True))
        out += [(h, r) for h, rows in self._recent.items() for r in rows]
        return sorted(out)


@dataclass
class Appended:
    """Keys of the rows one write transaction appended, in insertion (rowid) order.

    ``read_back`` marks a bulk write whose row order is not known here: the new rows' keys
    and rowids are then read from the tables after the commit.
    """

    memories: list[str] = field(default_factory=list)  # memory ids
    history: list[str] = field(default_factory=list)  # memory ids
    edges: list[tuple[str, str]] = field(default_factory=list)  # (src, dst)
    read_back: bool = False


# Table -> key columns mapped. Edges are looked up from either end.
_KEYS: dict[str, tuple[str, ...]] = {
    "memories": ("id",),
    "history": ("memory_id",),
    "edges": ("src", "dst"),
}


class RowidMaps:
    """The rowid maps of one store, with each table's next rowid.

    Build with :meth:`load`; keep in step with :meth:`record` after every commit.
    """

    def __init__(self, maps: dict[tuple[str, str], KeyRowids], rows: dict[str, int]) -> None:
        self._maps = maps
        self._next = rows  # table -> row count, the rowid of the next appended row

    @classmethod
    def load(cls, cur: duckdb.DuckDBPyConnection) -> RowidMaps:
        """Read every key and rowid of the mapped tables (~1 s for 1M memories and 2M edges)."""
        maps: dict[tuple[str, str], KeyRowids] = {}
        rows: dict[str, int] = {}
        for table, columns in _KEYS.items():
            found = _keys_from(cur, table, columns, 0)
            rowids = found["rowid"].to_numpy()
            rows[table] = int(rowids.max()) + 1 if len(rowids) else 0
            for column in columns:
                maps[(table, column)] = KeyRowids(hash_keys(found[column]), rowids)
        return cls(maps, rows)

    def memories(self, ids: Iterable[str]) -> list[int]:
        """Rowids of every version of these memory ids (and of hash-sharing keys)."""
        return self._maps[("memories", "id")].find(ids)

    def memories_each(self, ids: Iterable[str]) -> dict[str, list[int]]:
        """:meth:`memories` per id: its rows in rowid (so normally version) order."""
        return self._maps[("memories", "id")].find_each(ids)

    def history(self, ids: Iterable[str]) -> list[int]:
        """Rowids of the history rows of these memory ids (a superset)."""
        return self._maps[("history", "memory_id")].find(ids)

    def edges(self, nodes: Sequence[str], *, dst: bool = True) -> list[int]:
        """Rowids of edges leaving ``nodes``, or touching them when ``dst`` (a superset)."""
        found = self._maps[("edges", "src")].find(nodes)
        if dst:
            found = sorted(set(found).union(self._maps[("edges", "dst")].find(nodes)))
        return found

    def record(self, cur: duckdb.DuckDBPyConnection, appended: Appended) -> None:
        """Add the rows a committed transaction appended (call under the write lock)."""
        if appended.read_back:
            for table, columns in _KEYS.items():
                found = _keys_from(cur, table, columns, self._next[table])
                if found.num_rows:
                    rowids = found["rowid"].to_numpy()
                    for column in columns:
                        self._maps[(table, column)].add_arrays(found[column], rowids)
                    self._next[table] = int(rowids.max()) + 1
            return
        self._append("memories", {"id": appended.memories})
        self._append("history", {"memory_id": appended.history})
        self._append(
            "edges",
            {"src": [e[0] for e in appended.edges], "dst": [e[1] for e in appended.edges]},
        )

    def _append(self, table: str, keys: dict[str, list[str]]) -> None:
        first = self._next[table]
        for column, values in keys.items():
            self._maps[(table, column)].add(values, first)
        self._next[table] = first + len(next(iter(keys.values())))

    def pairs(self) -> dict[tuple[str, str], list[tuple[int, int]]]:
        """Every map's ``(hash, rowid)`` pairs, for tests comparing with a fresh :meth:`load`."""
        return {key: index.pairs() for key, index in self._maps.items()}

    @property
    def next_rowids(self) -> dict[str, int]:
        """Table -> the rowid its next appended row will get."""
        return dict(self._next)


def _keys_from(
    cur: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], first: int
) -> pa.Table:
    # Names come from _KEYS, never from callers.
    names = ", ".join(columns)
    sql = f"SELECT {names}, rowid FROM {table} WHERE rowid >= ?"
    return cur.execute(sql, [first]).to_arrow_table()
