"""The MemoryService as a Ray actor: concurrent writers, CAS, restart from its DuckDB file."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory import NewMemory, Principal, RemoteMemory, start_memory_actor
from memory.errors import AccessDeniedError, InvalidInputError, VersionConflictError

pytestmark = pytest.mark.integration


@pytest.fixture
def memory(local_ray: Any, tmp_path: Path) -> Iterator[RemoteMemory]:
    """A memory actor on a fresh DuckDB file, closed and killed after the test."""
    actor = start_memory_actor(tmp_path / "m.duckdb", embedder="hash")
    yield actor
    local_ray.get(actor.handle.close.remote())
    local_ray.kill(actor.handle)


TEAM = ("team", "t")
agent = Principal.agent("t", "a")


def test_concurrent_writers_lose_no_update(local_ray: Any, memory: RemoteMemory) -> None:
    ray = local_ray
    rec = memory.add("counter 0", principal=agent, namespace=TEAM)

    @ray.remote(num_cpus=0)
    def bump(mem: RemoteMemory, memory_id: str, times: int) -> int:
        conflicts = 0
        who = Principal.agent("t", "a")
        for _ in range(times):
            while True:
                cur = mem.get(memory_id, principal=who)
                n = int(cur.text.split()[1])
                try:
                    mem.update(
                        memory_id,
                        f"counter {n + 1}",
                        principal=who,
                        expected_version=cur.version,
                    )
                    break
                except VersionConflictError:
                    conflicts += 1
        return conflicts

    writers, times = 8, 10
    conflicts = ray.get([bump.remote(memory, rec.id, times) for _ in range(writers)])
    final = memory.get(rec.id, principal=agent)
    assert final.text == f"counter {writers * times}"
    assert final.version == writers * times + 1
    assert len(memory.history(rec.id, principal=agent)) == writers * times + 1
    assert sum(conflicts) >= 0
    with pytest.raises(AccessDeniedError):
        memory.get(rec.id, principal=Principal.agent("other", "x"))


def test_actor_restarts_from_its_file(local_ray: Any, memory: RemoteMemory) -> None:
    ray = local_ray
    acked = [memory.add(f"fact {i}", principal=agent, namespace=TEAM).id for i in range(20)]
    _kill_and_wait(ray, memory)
    for memory_id in acked:
        assert memory.get(memory_id, principal=agent).text.startswith("fact ")
    hits = memory.search("fact 7", principal=agent, k=3)
    assert hits and hits[0].record.text == "fact 7"
    context = memory.search("fact 7", principal=agent, k=3, budget_words=5)  # two words each
    assert context == hits[:2]


def _kill_and_wait(ray: Any, memory: RemoteMemory) -> None:
    """Kill the actor's own process (by PID) and wait until Ray has restarted it."""
    pid = ray.get(memory.handle.pid.remote())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        try:
            new_pid = ray.get(memory.handle.pid.remote(), timeout=10)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert new_pid != pid


def test_erase_through_the_actor_while_agents_write(local_ray: Any, memory: RemoteMemory) -> None:
    ray = local_ray
    user = Principal.user("u")
    for i in range(20):
        memory.add(f"u's secret {i}", principal=user, namespace=("user", "u"))

    @ray.remote(num_cpus=0)
    def write(mem: RemoteMemory, n: int) -> list[str]:
        who = Principal.agent("t", "a")
        return [mem.add(f"team fact {n}-{i}", principal=who, namespace=TEAM).id for i in range(15)]

    writing = [write.remote(memory, n) for n in range(4)]
    erased = memory.erase(("user", "u"), principal=user)
    written = [memory_id for ids in ray.get(writing) for memory_id in ids]
    assert (erased.memories, erased.rewritten) == (20, True)
    _kill_and_wait(ray, memory)  # it reopens the rewritten file
    assert memory.search("secret", principal=user, k=50) == []
    found = memory.search("team fact", principal=agent, k=100)
    assert sorted(hit.record.id for hit in found) == sorted(written)
    assert memory.check_integrity(principal=Principal.admin()) == []


def test_killed_memory_actor_loses_no_acknowledged_write_and_duplicates_none(
    local_ray: Any, memory: RemoteMemory
) -> None:
    ray = local_ray

    @ray.remote(num_cpus=0)
    def stream(mem: RemoteMemory, writer: int, count: int) -> list[str]:
        who = Principal.agent("t", "a")
        acknowledged = []
        for i in range(count):
            record = mem.add(f"writer {writer} fact {i}", principal=who, namespace=TEAM)
            acknowledged.append(record.id)
        return acknowledged

    acknowledged = _kill_midway(ray, memory, [stream.remote(memory, w, 40) for w in range(4)])
    stored = memory.export_arrow(principal=agent, namespace_prefix=TEAM)
    texts = stored.column("text").to_pylist()
    assert set(acknowledged) <= set(stored.column("id").to_pylist())  # none lost
    assert len(acknowledged) == 160 and len(set(acknowledged)) == 160
    assert sorted(texts) == sorted(f"writer {w} fact {i}" for w in range(4) for i in range(40))
    assert memory.check_integrity(principal=Principal.admin()) == []


def test_a_killed_actor_applies_each_acknowledged_write_once(
    local_ray: Any, memory: RemoteMemory
) -> None:
    """A write adds a memory and credits a shared one in one transaction; retried across a
    crash, it lands once: the credits always equal the memories stored."""
    ray = local_ray
    tally = memory.add("runs so far", principal=agent, namespace=TEAM)

    @ray.remote(num_cpus=0)
    def stream(mem: RemoteMemory, writer: int, count: int, tally_id: str) -> list[str]:
        who = Principal.agent("t", "a")
        acknowledged = []
        for i in range(count):
            (record, credited) = mem.write(
                principal=who,
                memories=[NewMemory(TEAM, f"writer {writer} run {i}")],
                credits={tally_id: 1.0},
            )
            assert credited.id == tally_id
            acknowledged.append(record.id)
        return acknowledged

    writers = [stream.remote(memory, w, 30, tally.id) for w in range(4)]
    acknowledged = _kill_midway(ray, memory, writers)
    stored = memory.export_arrow(principal=agent, namespace_prefix=TEAM)
    runs = [t for t in stored.column("text").to_pylist() if " run " in t]
    assert sorted(runs) == sorted(f"writer {w} run {i}" for w in range(4) for i in range(30))
    assert set(acknowledged) <= set(stored.column("id").to_pylist())
    final = memory.get(tally.id, principal=agent)
    assert final.utility == 120 and final.version == 121  # each credit exactly once
    assert memory.check_integrity(principal=Principal.admin()) == []


def test_a_malformed_write_is_refused_by_name_through_the_actor(memory: RemoteMemory) -> None:
    with pytest.raises(InvalidInputError, match="memories must be a list of NewMemory"):
        memory.write(principal=agent, memories="Ana lives in Porto")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="memories must hold NewMemory objects"):
        memory.write(principal=agent, memories=[NewMemory(TEAM, "ok"), "not one"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="memories must be a list of NewMemory"):
        memory.add_many(7, principal=agent)  # type: ignore[arg-type]
    assert memory.stats()["current"] == 0


def _kill_midway(ray: Any, memory: RemoteMemory, writers: list[Any]) -> list[str]:
    """Kill the memory actor once 20 memories are stored; the writers' acknowledged ids,
    after checking that the actor came back as a new process."""
    pid = ray.get(memory.handle.pid.remote())
    deadline = time.monotonic() + 60
    while memory.stats()["current"] < 20:  # writes are streaming in
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)  # the actor's own process, by PID
    acknowledged = [i for ids in ray.get(writers, timeout=180) for i in ids]
    assert ray.get(memory.handle.pid.remote()) != pid  # it was restarted from its file
    return acknowledged
