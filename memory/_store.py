"""The store contract: persistence, versions, history, filters, graph tables, bulk I/O.

Search indexes (BM25, vectors) are derived from a store and live in ``memory._index``;
ranking lives in ``memory._retrieval``. A store only stores and filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from memory._namespace import Namespace
from memory._types import (
    AddOp,
    ChangeInfo,
    DeleteOp,
    Edge,
    EdgeType,
    Erasure,
    Filter,
    HistoryEntry,
    MemoryRecord,
    NewMemory,
    NewTask,
    UpdateOp,
    WriteOp,
)


@runtime_checkable
class MemoryStore(Protocol):
    """A versioned, bitemporal memory store.

    ``apply`` is the only write path: a batch of operations applied in one transaction,
    all or nothing. Every operation writes one history row.
    """

    def apply(
        self,
        ops: Sequence[WriteOp],
        *,
        tasks: Sequence[NewTask] = (),
        edges: Iterable[Edge] = (),
    ) -> list[MemoryRecord]:
        """Apply ``ops`` atomically, with the task nodes and edges given; return the resulting
        version for each op.

        For a DeleteOp the returned record is the deleted version (``deleted=True``).
        Raises VersionConflictError / MemoryNotFoundError / InvalidRecordError, and then
        nothing of the batch is written.
        """
        ...

    def get(self, memory_id: str, *, as_of: datetime | None = None) -> MemoryRecord:
        """The current version (or the one visible at system time ``as_of``).

        Raises MemoryNotFoundError if there is none.
        """
        ...

    def fetch(
        self, keys: Sequence[tuple[str, int]], *, with_embeddings: bool = True
    ) -> list[MemoryRecord]:
        """The given ``(id, version)`` rows in the order asked (search hits).

        ``with_embeddings=False`` leaves ``embedding`` None, which is much cheaper to read.
        Raises MemoryNotFoundError for a key that does not exist.
        """
        ...

    def versions(self, memory_id: str) -> list[MemoryRecord]:
        """Every version of a memory, oldest first (deleted memories included)."""
        ...

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """The change log of a memory, oldest first."""
        ...

    def scan(
        self,
        flt: Filter = Filter(),
        *,
        limit: int | None = None,
        offset: int = 0,
        with_embeddings: bool = False,
    ) -> list[MemoryRecord]:
        """Records matching ``flt`` in (recorded_at, id, version) order, paged."""
        ...

    def count(self, flt: Filter = Filter()) -> int:
        """How many records match ``flt``."""
        ...

    def list_namespaces(
        self,
        prefix: Namespace = (),
        *,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """Distinct namespaces under ``prefix`` (truncated to ``max_depth`` labels), sorted."""
        ...

    def add_edges(self, edges: Iterable[Edge]) -> int:
        """Insert graph edges; returns how many were written."""
        ...

    def add_task(
        self,
        text: str,
        namespace: Namespace,
        *,
        task_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a task (query) node of the graph; returns its node id."""
        ...

    def edges(
        self,
        *,
        nodes: Sequence[str] | None = None,
        types: Sequence[EdgeType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        """Edges touching any of ``nodes`` (all when None), valid at ``as_of`` if given."""
        ...

    def export_arrow(
        self, flt: Filter = Filter(), *, all_versions: bool = False, ordered: bool = True
    ) -> pa.Table:
        """Records as an Arrow table (schema: ``memory._duckdb.ARROW_SCHEMA``): by recording
        time, or with ``ordered=False`` in the order they were written (no sort)."""
        ...

    def import_arrow(self, table: pa.Table, *, actor: str = "import") -> int:
        """Bulk-insert records from an Arrow table of the export schema; returns row count."""
        ...

    def erase(self, prefix: Namespace) -> Erasure:
        """Remove the memories under the (non-empty) namespace ``prefix`` for good: every
        version, their history, the tasks of those namespaces, every edge in them or touching
        their memories or tasks, and the entities nothing left mentions. Unlike a delete,
        nothing of them stays to be read, and a store that keeps a file leaves no byte of
        them in it. The caller keeps other readers and writers away meanwhile.
        """
        ...

    def check_integrity(self) -> list[str]:
        """What is wrong with the stored versions and history; empty when nothing is."""
        ...

    def close(self) -> None:
        """Release the underlying connection / file."""
        ...


# Convenience functions built on the contract, so every backend gets them for free.


def add(store: MemoryStore, memory: NewMemory, info: ChangeInfo = ChangeInfo()) -> MemoryRecord:
    """Add one memory."""
    return store.apply([AddOp(memory, info)])[0]


def update(store: MemoryStore, op: UpdateOp) -> MemoryRecord:
    """Write one new version."""
    return store.apply([op])[0]


def delete(
    store: MemoryStore,
    memory_id: str,
    expected_version: int | None = None,
    info: ChangeInfo = ChangeInfo(),
) -> MemoryRecord:
    """Soft-delete one memory."""
    return store.apply([DeleteOp(memory_id, expected_version, info)])[0]
