"""The service's cache of memory versions: what it keeps, what a write drops, and that
searches read exactly what the store holds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from memory import HashEmbedder, MemoryRecord, MemoryService, Principal, Tier
from memory._records import RecordCache

TEAM = ("team", "desk")
writer = Principal.agent("desk", "writer")


def record(memory_id: str, version: int, text: str = "x") -> MemoryRecord:
    return MemoryRecord(
        id=memory_id,
        namespace=TEAM,
        tier=Tier.SEMANTIC,
        text=text,
        version=version,
        author="a",
        recorded_at=datetime(2024, 1, version, tzinfo=UTC),
    )


class Store:
    """Counts the keys a cache asks the store for."""

    def __init__(self) -> None:
        self.asked: list[list[tuple[str, int]]] = []

    def load(self, keys: list[tuple[str, int]]) -> list[MemoryRecord]:
        self.asked.append(keys)
        return [record(i, v, f"{i} v{v} from the store") for i, v in keys]


def test_reads_each_version_from_the_store_once_and_keeps_order() -> None:
    cache, store = RecordCache(), Store()
    first = cache.fetch([("a", 1), ("b", 1), ("a", 1)], store.load)
    assert [(r.id, r.version) for r in first] == [("a", 1), ("b", 1), ("a", 1)]
    again = cache.fetch([("b", 1), ("c", 2), ("a", 1)], store.load)
    assert [r.text for r in again] == ["b v1 from the store", "c v2 from the store", first[0].text]
    assert store.asked == [[("a", 1), ("b", 1)], [("c", 2)]]


def test_a_write_drops_every_older_version_and_keeps_the_newest() -> None:
    cache, store = RecordCache(), Store()
    cache.fetch([("a", 1), ("a", 2), ("b", 1)], store.load)
    cache.written([record("a", 3, "a v3 written"), record("a", 4, "a v4 written")])
    assert len(cache) == 2  # a v4 and b v1
    (newest,) = cache.fetch([("a", 4)], store.load)
    assert newest.text == "a v4 written" and newest.embedding is None
    cache.fetch([("a", 1)], store.load)  # an old version is read again, stamped as it is now
    assert store.asked[-1] == [("a", 1)]


def test_a_read_that_overlapped_a_write_is_not_kept() -> None:
    cache = RecordCache()

    def load_while_written(keys: list[tuple[str, int]]) -> list[MemoryRecord]:
        cache.written([record("a", 2)])  # a commit lands while the store is read
        return [record(i, v, "read before the commit") for i, v in keys]

    cache.fetch([("a", 1)], load_while_written)
    store = Store()
    cache.fetch([("a", 1)], store.load)
    assert store.asked == [[("a", 1)]]


def test_least_recently_used_versions_go_first() -> None:
    cache, store = RecordCache(capacity=3), Store()
    cache.fetch([("a", 1), ("b", 1), ("c", 1)], store.load)
    cache.fetch([("a", 1)], store.load)  # a is used again: b is now the oldest
    cache.fetch([("d", 1)], store.load)
    assert len(cache) == 3
    cache.fetch([("a", 1), ("c", 1), ("d", 1)], store.load)
    cache.fetch([("b", 1)], store.load)
    assert store.asked[-2:] == [[("d", 1)], [("b", 1)]]
    cache.clear()
    assert len(cache) == 0


def test_searches_return_what_the_store_holds_across_updates_and_deletes() -> None:
    with MemoryService.open(":memory:", embedder=HashEmbedder()) as memory:
        note = memory.add("Ana lives in Lisbon", principal=writer, namespace=TEAM)

        def hits(query: str, **kwargs: object) -> list[MemoryRecord]:
            found = memory.search(query, principal=writer, namespace_prefix=TEAM, **kwargs)
            return [hit.record for hit in found]

        assert hits("Ana Lisbon")[0].is_current
        before = datetime.now(UTC)
        memory.update(note.id, "Ana lives in Porto", principal=writer, expected_version=1)
        old = hits("Ana Lisbon", include_superseded=True, as_of=before)
        # The version the first search cached, as the store holds it now: replaced.
        assert [(r.version, r.is_current) for r in old] == [(1, False)]
        both = hits("Ana lives", include_superseded=True)
        stored = {r.version: r for r in memory.versions(note.id, principal=writer)}
        for found in both:
            expected = stored[found.version]
            assert (found.text, found.superseded_at, found.valid_to, found.utility) == (
                expected.text,
                expected.superseded_at,
                expected.valid_to,
                expected.utility,
            )
        assert {r.version for r in both} == {1, 2} and not stored[1].is_current
        memory.credit(note.id, 2.0, principal=writer)
        assert hits("Ana Porto")[0].utility == 2.0
        memory.delete(note.id, principal=writer)
        assert hits("Ana Porto") == []


def test_concurrent_writes_and_searches_never_return_a_stale_version() -> None:
    with MemoryService.open(":memory:", embedder=HashEmbedder()) as memory:
        note = memory.add("counter at 0", principal=writer, namespace=TEAM)
        done = threading.Event()
        stale: list[tuple[int, int]] = []

        def search() -> None:
            while not done.is_set():
                for hit in memory.search("counter", principal=writer, include_superseded=True):
                    newest = memory.get(note.id, principal=writer).version
                    if hit.record.is_current and hit.record.version < newest:
                        stale.append((hit.record.version, newest))

        readers = [threading.Thread(target=search) for _ in range(2)]
        for reader in readers:
            reader.start()
        try:
            for n in range(1, 40):
                memory.update(note.id, f"counter at {n}", principal=writer, expected_version=n)
        finally:
            done.set()
            for reader in readers:
                reader.join()
        # A search may start before a write lands; once it has, no older version is current.
        final = memory.search("counter", principal=writer, include_superseded=True, k=50)
        assert [h.record.version for h in final if h.record.is_current] == [40]
        assert all(h.record.superseded_at is not None for h in final if h.record.version < 40)


@pytest.mark.parametrize("capacity", [1, 2])
def test_a_tiny_cache_still_answers_correctly(capacity: int) -> None:
    cache, store = RecordCache(capacity=capacity), Store()
    keys = [("a", 1), ("b", 1), ("c", 1), ("a", 1)]
    assert [r.id for r in cache.fetch(keys, store.load)] == ["a", "b", "c", "a"]
    assert len(cache) == capacity
