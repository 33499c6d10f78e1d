"""Reliability and security of the memory and the runtime (issue 6).

Run: ``colony bench reliability --json`` (or ``python -m benchmarks.reliability``); prints one
JSON object on stdout and a summary line on stderr. Everything runs on real DuckDB files in a
temporary directory.

- access control: every principal x namespace x operation of :data:`OPERATIONS`, against what
  the rules of :mod:`memory._access` say, written out again here as two tables
  (:data:`READS`, :data:`WRITES`) rather than asked of the code under test. An allowed
  operation must work; a denied one must raise :class:`~memory.errors.AccessDeniedError` or,
  for a search, listing or export, return nothing from that namespace, and must change
  nothing. ``acl_violations`` counts the cases that did otherwise.
- concurrent writers: ``writers`` threads bump shared counters in one store, each bump a
  read, then an update with compare-and-set on the version, retried on a conflict.
  ``lost_updates`` is the bumps made minus the counters' total at the end. The baseline,
  ``single_writer_writes_per_s``, is the same number of bumps from one writer.
- bad input: ``fuzz_cases`` generated cases over the public API and the CLI
  (:mod:`benchmarks.fuzz`); ``unhandled_exceptions`` counts those that raised anything but a
  clear :class:`~memory.errors.ColonyError`, and the store's integrity check runs after them.
- soak: 1,000 runs of a two-agent team with a tool, memory and insights, SQLite checkpoints
  and a trace store, back to back on the local runtime (a new session every 100 runs);
  ``rss_growth_mb`` and ``open_files_growth`` from the end of two warm-up sessions to the end,
  against the bounds stated in ``rss_bound_mb`` and ``open_files_bound``. The stores grow
  with every run (about six memory versions each), and the in-memory indexes with them.
- a killed memory actor: four Ray tasks stream 40 adds each through the actor's client; the
  actor is killed (SIGKILL, by PID) once 20 are stored, restarts from its file, and the
  clients retry. ``lost_acknowledged_writes`` counts the ids a writer was given that the
  store does not hold afterwards, ``duplicate_writes`` the texts stored twice. (Starts a
  local Ray.)
- memory poisoning: false facts from a compromised agent and instructions injected through
  tool outputs and agents' notes, with and without the defence
  (:mod:`benchmarks.poisoning`): ``poisoning_asr_defended``, ``poisoning_asr_undefended``
  and ``clean_utility_ratio``. It uses ``COLONY_EMBEDDER`` (MiniLM by default).

An agent actor killed mid-step, a driver killed mid-run and resumed by ``colony run
--resume``, and a worker node removed mid-run are tests (``tests/integration/test_team_ray.py``,
``tests/integration/test_driver_kill.py``, ``tests/integration/test_node_loss.py``), not
figures here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import ChatResponse, Message, ToolCall, ToolSpec, Usage
from benchmarks._main import run_as_script
from benchmarks.fuzz import fuzz
from benchmarks.poisoning import run_poisoning
from memory import (
    Candidate,
    HashEmbedder,
    MemoryService,
    Namespace,
    NewMemory,
    Principal,
)
from memory._access import AccessRules
from memory.errors import (
    AccessDeniedError,
    InvalidInputError,
    MemoryNotFoundError,
    VersionConflictError,
)
from policies import make_policy

__all__ = [
    "OPERATIONS",
    "PRINCIPALS",
    "READS",
    "WRITES",
    "acl_matrix",
    "concurrent_writers",
    "main",
    "run_reliability",
    "summarize",
]

PRINCIPALS: dict[str, Principal] = {
    "agent t/a": Principal.agent("t", "a"),
    "agent t/b": Principal.agent("t", "b"),
    "agent u/c": Principal.agent("u", "c"),
    "user alice (team t)": Principal.user("alice", teams=("t",)),
    "user bob": Principal.user("bob"),
    "admin": Principal.admin(),
}
NAMESPACES: dict[str, Namespace] = {
    "a's private": ("agent", "t", "a", "working"),
    "b's private": ("agent", "t", "b", "working"),
    "c's private": ("agent", "u", "c", "working"),
    "team t": ("team", "t", "notes"),
    "team u": ("team", "u", "notes"),
    "alice's": ("user", "alice", "prefs"),
    "bob's": ("user", "bob", "prefs"),
    "global": ("global", "facts"),
    "other root": ("misc", "x"),
}
_EVERY = frozenset(NAMESPACES)
READS: dict[str, frozenset[str]] = {
    "agent t/a": frozenset({"a's private", "team t", "global"}),
    "agent t/b": frozenset({"b's private", "team t", "global"}),
    "agent u/c": frozenset({"c's private", "team u", "global"}),
    "user alice (team t)": frozenset({"team t", "alice's", "global"}),
    "user bob": frozenset({"bob's", "global"}),
    "admin": _EVERY,
}
"""Where each principal may read: the rules table of :mod:`memory._access`, by hand."""
WRITES: dict[str, frozenset[str]] = {
    **{who: where - {"global"} for who, where in READS.items() if who != "admin"},
    "admin": _EVERY,
}
"""Where each principal may write: where it reads, except the read-only global namespace."""


@dataclass(frozen=True)
class _Case:
    """One principal doing one operation in one namespace, where a memory already is."""

    service: MemoryService
    principal: Principal
    namespace: Namespace
    target: str  # id of a memory in ``namespace``, written by the admin for this case


_ADMIN = Principal.admin()
_ADD_ALL = make_policy("add-all")


def _seen(found: Sequence[Any], namespace: Namespace) -> bool:
    return any(hit.record.namespace == namespace for hit in found)


def _add(c: _Case) -> bool:
    c.service.add("a new note", principal=c.principal, namespace=c.namespace)
    return True


def _add_many(c: _Case) -> bool:
    c.service.add_many([NewMemory(c.namespace, "a batch note")], principal=c.principal)
    return True


def _remember(c: _Case) -> bool:
    applied = c.service.remember(
        [Candidate("a remembered fact", c.namespace)], principal=c.principal, policy=_ADD_ALL
    )
    return len(applied) == 1


def _add_task(c: _Case) -> bool:
    c.service.add_task("a task", principal=c.principal, namespace=c.namespace)
    return True


def _update(c: _Case) -> bool:
    c.service.update(c.target, "changed", principal=c.principal, expected_version=1)
    return True


def _delete(c: _Case) -> bool:
    c.service.delete(c.target, principal=c.principal)
    return True


def _get(c: _Case) -> bool:
    return c.service.get(c.target, principal=c.principal).id == c.target


def _history(c: _Case) -> bool:
    return len(c.service.history(c.target, principal=c.principal)) == 1


def _versions(c: _Case) -> bool:
    return len(c.service.versions(c.target, principal=c.principal)) == 1


def _search_in(c: _Case) -> bool:
    found = c.service.search(
        "seeded marker", principal=c.principal, namespace_prefix=c.namespace, k=50
    )
    return _seen(found, c.namespace)


def _search_everywhere(c: _Case) -> bool:
    return _seen(c.service.search("seeded marker", principal=c.principal, k=500), c.namespace)


def _search_vector(c: _Case) -> bool:
    vector = c.service.embed(["seeded marker"])[0]
    return _seen(c.service.search_vector(vector, principal=c.principal, k=500), c.namespace)


def _list_namespaces(c: _Case) -> bool:
    return c.namespace in c.service.list_namespaces(principal=c.principal, limit=1000)


def _export(c: _Case) -> bool:
    table = c.service.export_arrow(principal=c.principal, namespace_prefix=c.namespace)
    return c.target in table.column("id").to_pylist()


READ_OPERATIONS: dict[str, Callable[[_Case], bool]] = {
    "get": _get,
    "history": _history,
    "versions": _versions,
    "search in the namespace": _search_in,
    "search everywhere": _search_everywhere,
    "search by vector": _search_vector,
    "list namespaces": _list_namespaces,
    "export": _export,
}
"""Each returns whether the case's memory was visible (a denied one may also raise)."""
WRITE_OPERATIONS: dict[str, Callable[[_Case], bool]] = {
    "add": _add,
    "add many": _add_many,
    "remember": _remember,
    "add task": _add_task,
    "update": _update,
    "delete": _delete,
}
OPERATIONS = (*READ_OPERATIONS, *WRITE_OPERATIONS)


def _snapshot(service: MemoryService, namespace: Namespace) -> list[tuple[Any, ...]]:
    """Every version in ``namespace`` as the admin sees it: what a denied write must not change."""
    table = service.export_arrow(principal=_ADMIN, namespace_prefix=namespace, all_versions=True)
    rows = table.select(["id", "version", "text", "valid_to"]).to_pylist()
    return sorted(tuple(row.values()) for row in rows)


def acl_matrix(
    path: str | Path,
    *,
    rules: AccessRules | None = None,
    principals: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run every principal x namespace x operation on a new store at ``path``.

    Args:
        path: A DuckDB file to create.
        rules: The store's rules; the expectations stay those of the default rules (a test
            passes permissive ones to see violations counted).
        principals: Names from :data:`PRINCIPALS` to run (default: all).

    Returns:
        ``{"acl_cases": n, "acl_violations": n, "violations": [descriptions]}``.
    """
    violations: list[str] = []
    cases = 0
    # The namespace rules alone: the trust guard, which also keeps agents from changing an
    # admin's or user's memories, is measured by the poisoning suite.
    with MemoryService.open(path, embedder=HashEmbedder(), rules=rules, guard=None) as service:
        for who in PRINCIPALS if principals is None else principals:
            principal = PRINCIPALS[who]
            for where, namespace in NAMESPACES.items():
                for operation in OPERATIONS:
                    cases += 1
                    seeded = service.add(
                        f"seeded marker {who} {operation}", principal=_ADMIN, namespace=namespace
                    )
                    case = _Case(service, principal, namespace, seeded.id)
                    problem = _check(case, operation, who, where)
                    if problem is not None:
                        violations.append(f"{who} / {operation} / {where}: {problem}")
                    # The next case starts from one live memory here, as this one did.
                    with contextlib.suppress(MemoryNotFoundError):  # the case deleted it
                        service.delete(seeded.id, principal=_ADMIN)
    return {"acl_cases": cases, "acl_violations": len(violations), "violations": violations}


def _check(case: _Case, operation: str, who: str, where: str) -> str | None:
    """What went wrong in one case, or None."""
    reading = operation in READ_OPERATIONS
    allowed = where in (READS if reading else WRITES)[who]
    run = READ_OPERATIONS[operation] if reading else WRITE_OPERATIONS[operation]
    before = None if allowed else _snapshot(case.service, case.namespace)
    try:
        visible = run(case)
    except AccessDeniedError as exc:
        if allowed:
            return f"allowed but denied: {exc}"
        visible = False
    except Exception as exc:  # any other failure is a violation too, and is named
        return f"raised {type(exc).__name__}: {exc}"
    if allowed and not visible:
        return "allowed, but the memory was not visible"
    if not allowed and visible:
        return "denied, but the operation went through or showed the memory"
    if before is not None and _snapshot(case.service, case.namespace) != before:
        return "denied, but the namespace changed"
    return None


def concurrent_writers(
    path: str | Path, *, writers: int = 16, counters: int = 4, bumps: int = 50, seed: int = 0
) -> dict[str, Any]:
    """``writers`` threads each make ``bumps`` increments of random shared counters.

    Returns:
        ``{"concurrent_writers", "lost_updates", "writes_per_s", "update_conflicts",
        "bumps"}``.
    """
    principal = Principal.agent("t", "writer")
    namespace: Namespace = ("team", "t", "counters")
    conflicts = [0] * writers
    failures: list[BaseException] = []
    with MemoryService.open(path, embedder=HashEmbedder()) as service:
        ids = [
            service.add("0", principal=principal, namespace=namespace).id for _ in range(counters)
        ]
        start = threading.Barrier(writers + 1)

        def writer(index: int) -> None:
            pick = random.Random(seed * 1000 + index).choice
            try:
                start.wait()
                for _ in range(bumps):
                    memory_id = pick(ids)
                    while True:
                        current = service.get(memory_id, principal=principal)
                        try:
                            service.update(
                                memory_id,
                                str(int(current.text) + 1),
                                principal=principal,
                                expected_version=current.version,
                            )
                            break
                        except VersionConflictError:
                            conflicts[index] += 1
            except BaseException as exc:  # reported below: a lost writer is lost updates
                failures.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        total = sum(int(service.get(i, principal=principal).text) for i in ids)
    if failures:
        raise RuntimeError(f"{len(failures)} writer(s) failed: {failures[0]!r}") from failures[0]
    made = writers * bumps
    return {
        "concurrent_writers": writers,
        "lost_updates": made - total,
        "writes_per_s": round(made / elapsed, 1),
        "update_conflicts": sum(conflicts),
        "bumps": made,
    }


def _stream(memory: Any, writer: int, count: int) -> list[str]:
    """One writer's adds through the memory actor's client; the ids it was told were stored."""
    who = Principal.agent("t", "writer")
    return [
        memory.add(f"writer {writer} fact {i}", principal=who, namespace=("team", "t")).id
        for i in range(count)
    ]


def memory_actor_kill(
    folder: str | Path, *, writers: int = 4, writes: int = 40, kill_after: int = 20
) -> dict[str, Any]:
    """Kill the memory actor (SIGKILL, by PID) while ``writers`` Ray tasks stream adds to it.

    The actor restarts from its DuckDB file and the clients retry (see
    :class:`memory.RemoteMemory`). Starts a local Ray for the measurement unless this process
    is connected to one, and stops what it started.

    Returns:
        ``{"lost_acknowledged_writes", "duplicate_writes", "acknowledged_writes",
        "memory_actor_restarted"}``: acknowledged ids missing from the store after the
        restart, and texts stored more than once.
    """
    # Ray's log monitor prints on stdout (the killed worker's "died unexpectedly" among
    # others), where the caller prints the JSON: while Ray runs here, stdout is stderr.
    with contextlib.redirect_stdout(sys.stderr):
        return _memory_actor_kill(folder, writers, writes, kill_after)


def _memory_actor_kill(
    folder: str | Path, writers: int, writes: int, kill_after: int
) -> dict[str, Any]:
    import signal

    from memory import start_memory_actor
    from orchestrator import init_ray

    started = init_ray(None)
    import ray

    try:
        memory = start_memory_actor(Path(folder) / "killed.duckdb", embedder="hash")
        try:
            pid = ray.get(memory.handle.pid.remote())
            stream = ray.remote(num_cpus=0)(_stream)
            tasks = [stream.remote(memory, w, writes) for w in range(writers)]
            deadline = time.monotonic() + 120
            while memory.stats()["current"] < kill_after:
                if time.monotonic() > deadline:
                    raise RuntimeError("the writers did not start writing within 120 s")
                time.sleep(0.02)
            os.kill(pid, signal.SIGKILL)
            acknowledged = [i for ids in ray.get(tasks, timeout=300) for i in ids]
            restarted = ray.get(memory.handle.pid.remote()) != pid
            stored = memory.export_arrow(principal=_ADMIN, namespace_prefix=("team", "t"))
            ids = set(stored.column("id").to_pylist())
            texts = stored.column("text").to_pylist()
        finally:
            ray.get(memory.handle.close.remote())
            ray.kill(memory.handle)
    finally:
        if started:
            ray.shutdown()
    return {
        "lost_acknowledged_writes": sum(1 for i in acknowledged if i not in ids),
        "duplicate_writes": len(texts) - len(set(texts)),
        "acknowledged_writes": len(acknowledged),
        "memory_actor_restarted": restarted,
    }


SOAK_RSS_BOUND_MB = 64
SOAK_OPEN_FILES_BOUND = 4


class _Offline:
    """A stand-in model: calls ``count_words`` on the task, then answers with the count."""

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        last = messages[-1]
        if last.role == "user" and tools:
            call = ToolCall("1", tools[0].name, {"text": last.content})
            return ChatResponse(Message("assistant", "", (call,)), Usage(20, 5))
        return ChatResponse(Message("assistant", f"counted: {last.content[:40]}"), Usage(30, 6))


def count_words(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def _rss_mb() -> float:
    """Resident memory of this process (Linux ``/proc``), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def soak(
    folder: str | Path, *, runs: int = 1000, per_session: int = 100, warmup_sessions: int = 2
) -> dict[str, Any]:
    """``runs`` team runs back to back on the local runtime, a new session every
    ``per_session`` runs, with a memory store, SQLite checkpoints and a trace store.

    Resident memory and open files are read after ``warmup_sessions`` sessions (imports,
    caches, the first files) and at the end, after a garbage collection each time. Two
    sessions, because with MiniLM the second one still grows by ~20 MiB (torch's and
    DuckDB's caches settling; measured 2026-12-05: 692 -> 717 MiB over session two, then
    about +2 MiB per 100 runs, the same with the trust guard off), after which the growth
    is the stores' data.

    Returns:
        ``{"soak_runs", "rss_growth_mb", "open_files_growth", "rss_bound_mb",
        "open_files_bound", "soak_runs_per_s"}``.
    """
    from agents import Agent
    from orchestrator import Sequential, Team
    from telemetry import tracing

    base = Path(folder)
    team = Team(
        "soak",
        [
            Agent("counter", "Count.", _Offline(), tools=[count_words], writes=("team", "soak")),
            Agent("writer", "Report.", _Offline(), reads=(("team", "soak"),)),
        ],
        flow=Sequential(),
        memory=base / "memory.duckdb",
        checkpoints=str(base / "checkpoints.sqlite"),
    )
    # At least one session after the warm-up, when there are two or more.
    sessions = -(-runs // per_session)
    warmup = min(warmup_sessions, max(1, sessions - 1))
    before: tuple[float, int] | None = None
    done = warming = 0
    started = time.perf_counter()
    with tracing(trace_store=base / "traces.duckdb"):
        while done < runs:
            with team.session() as session:
                for _ in range(min(per_session, runs - done)):
                    result = session.run(f"count the words of run number {done}")
                    if result.status != "done":
                        raise RuntimeError(f"soak run {done} ended {result.status}")
                    done += 1
            warming += 1
            if warming == warmup:
                gc.collect()
                before = (_rss_mb(), _open_files())
        elapsed = time.perf_counter() - started
    gc.collect()
    assert before is not None
    return {
        "soak_runs": done,
        "soak_warmup_runs": warmup * per_session,
        "rss_growth_mb": round(_rss_mb() - before[0], 1),
        "open_files_growth": _open_files() - before[1],
        "rss_bound_mb": SOAK_RSS_BOUND_MB,
        "open_files_bound": SOAK_OPEN_FILES_BOUND,
        "soak_runs_per_s": round(done / elapsed, 1),
    }


def run_reliability(
    *, writers: int = 16, bumps: int = 50, fuzz_cases: int = 10_000, soak_runs: int = 1000
) -> dict[str, Any]:
    """The measurements, each on its own store in a temporary directory.

    Raises:
        InvalidInputError: ``writers``, ``bumps``, ``fuzz_cases`` or ``soak_runs`` is not an
            int >= 1.
    """
    counts = (
        ("writers", writers),
        ("bumps", bumps),
        ("fuzz_cases", fuzz_cases),
        ("soak_runs", soak_runs),
    )
    for label, value in counts:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{label} must be an int >= 1, got {value!r}")
    with tempfile.TemporaryDirectory() as folder:
        load = concurrent_writers(Path(folder) / "writers.duckdb", writers=writers, bumps=bumps)
        # The baseline: the same updates from one writer, which never conflicts.
        alone = concurrent_writers(Path(folder) / "alone.duckdb", writers=1, bumps=load["bumps"])
        acl = acl_matrix(Path(folder) / "acl.duckdb")
        bad_input = fuzz(fuzz_cases, folder=folder)
        soaked = Path(folder) / "soak"
        soaked.mkdir()
        long_run = soak(soaked, runs=soak_runs)
        killed = memory_actor_kill(folder)
    poisoning = run_poisoning()
    return {
        **killed,
        "lost_updates": load["lost_updates"],
        "concurrent_writers": load["concurrent_writers"],
        "writes_per_s": load["writes_per_s"],
        "single_writer_writes_per_s": alone["writes_per_s"],
        "update_conflicts": load["update_conflicts"],
        "acl_cases": acl["acl_cases"],
        "acl_violations": acl["acl_violations"],
        "acl_violation_examples": acl["violations"][:10],
        "fuzz_cases": bad_input["fuzz_cases"],
        "unhandled_exceptions": bad_input["unhandled_exceptions"],
        "fuzz_rejections": bad_input["rejections"],
        "fuzz_unclear_rejections": bad_input["unclear_rejections"],
        "fuzz_integrity_problems": bad_input["integrity_problems"],
        "unhandled_examples": bad_input["unhandled_examples"],
        **long_run,
        **poisoning,
    }


def summarize(result: dict[str, Any]) -> str:
    """One human line for stderr."""
    return (
        f"reliability: memory actor killed under {result['acknowledged_writes']} streamed "
        f"writes: {result['lost_acknowledged_writes']} acknowledged lost, "
        f"{result['duplicate_writes']} duplicated; "
        f"{result['concurrent_writers']} writers, {result['lost_updates']} lost "
        f"updates, {result['writes_per_s']} writes/s ({result['update_conflicts']} conflicts "
        f"retried; one writer alone: {result['single_writer_writes_per_s']} writes/s); access "
        f"control: {result['acl_violations']} violations in "
        f"{result['acl_cases']} cases; bad input: {result['unhandled_exceptions']} unhandled "
        f"exceptions in {result['fuzz_cases']} generated cases ({result['fuzz_rejections']} "
        f"rejected with a ColonyError), store integrity "
        f"{'ok' if not result['fuzz_integrity_problems'] else 'BROKEN'}; soak: "
        f"{result['soak_runs']} runs, after {result['soak_warmup_runs']} warm-up runs memory "
        f"+{result['rss_growth_mb']} MiB (bound "
        f"{result['rss_bound_mb']}), open files {result['open_files_growth']:+d} (bound "
        f"{result['open_files_bound']}); poisoning: attack success "
        f"{result['poisoning_asr_defended']:.1%} defended, "
        f"{result['poisoning_asr_undefended']:.1%} undefended, clean utility ratio "
        f"{result['clean_utility_ratio']}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print JSON on stdout and a summary on stderr."""
    run_as_script(run_reliability, summarize, __doc__, argv)


if __name__ == "__main__":
    main()
