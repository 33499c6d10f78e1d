"""The service's cache of memory versions, so a search does not read its hits from the store.

A search ranks in memory (``memory._retrieval``) and then needs the hits' records: read from
DuckDB by rowid, 200 of them took ~18 ms of a ~22 ms LoCoMo search. The service is its
store's only writer, so a cached version goes stale only when the service itself writes
the next one (which stamps the version before it: ``superseded_at``, ``valid_to``) or
imports a table. Each commit therefore drops the cached versions of every memory it wrote
and keeps the newest one, exactly as the store returned it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from memory._types import MemoryRecord

Key = tuple[str, int]

CAPACITY = 16_384
"""Most versions kept (least recently used dropped first): ~1-2 KB each without embeddings."""


class RecordCache:
    """Versions of memories by ``(id, version)``, without embeddings; thread-safe.

    Records are shared between the callers that read them: like every
    :class:`MemoryRecord`, treat them as read-only.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._records: OrderedDict[Key, MemoryRecord] = OrderedDict()
        self._versions: dict[str, set[int]] = {}  # id -> its cached versions
        self._generation = 0  # bumped by every write, so a read that overlapped one is not kept
        self._lock = threading.Lock()

    def fetch(
        self, keys: Sequence[Key], load: Callable[[list[Key]], list[MemoryRecord]]
    ) -> list[MemoryRecord]:
        """The records of ``keys`` in order; ``load`` reads the ones not cached (and raises
        for a key the store does not hold)."""
        with self._lock:
            found = {key: self._touch(key) for key in keys}
            generation = self._generation
        missing = [key for key, record in found.items() if record is None]
        if missing:
            loaded = load(missing)
            with self._lock:
                if self._generation == generation:  # no write since: nothing read is stale
                    for record in loaded:
                        self._keep(record)
            found.update(zip(missing, loaded, strict=True))
        out = [found[key] for key in keys]
        assert all(record is not None for record in out)  # load raises for what it lacks
        return cast(list[MemoryRecord], out)

    def written(self, records: Iterable[MemoryRecord]) -> None:
        """After a commit: drop every cached version of the memories written, keep the newest."""
        newest: dict[str, MemoryRecord] = {}
        for record in records:
            if record.id not in newest or record.version > newest[record.id].version:
                newest[record.id] = record
        with self._lock:
            self._generation += 1
            for memory_id, record in newest.items():
                for version in self._versions.pop(memory_id, ()):
                    del self._records[(memory_id, version)]
                self._keep(record)

    def clear(self) -> None:
        """Forget everything (after a bulk import)."""
        with self._lock:
            self._generation += 1
            self._records.clear()
            self._versions.clear()

    def __len__(self) -> int:
        return len(self._records)

    def _touch(self, key: Key) -> MemoryRecord | None:
        record = self._records.get(key)
        if record is not None:
            self._records.move_to_end(key)
        return record

    def _keep(self, record: MemoryRecord) -> None:
        if record.embedding is not None:
            record = dataclasses.replace(record, embedding=None)
        key = (record.id, record.version)
        self._records[key] = record
        self._records.move_to_end(key)
        self._versions.setdefault(record.id, set()).add(record.version)
        while len(self._records) > self._capacity:
            (memory_id, version), _ = self._records.popitem(last=False)
            versions = self._versions[memory_id]
            versions.discard(version)
            if not versions:
                del self._versions[memory_id]
