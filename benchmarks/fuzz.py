"""Property-based fuzzing of the public API and the CLI with generated bad input (issue 6).

Each case draws an operation and its arguments with hypothesis and runs it on one real
DuckDB store: the memory service's reads and writes, team definitions, LoCoMo conversation
files, and ``colony memory`` commands. Texts are empty, huge, binary, in any Unicode (lone
surrogates, right-to-left marks, NULs) or SQL-like; namespaces, ids, filters, time ranges,
counts and principals are of the right type or not. A case may succeed or be rejected with a
:class:`~memory.errors.ColonyError` (or, from the CLI, a usage error) whose message is not
empty; anything else is an unhandled exception. After the last case the store's integrity
check (:meth:`memory.MemoryService.check_integrity`) must pass.

Needs hypothesis (the ``dev`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from memory import (
    Candidate,
    Edge,
    EdgeType,
    HashEmbedder,
    MemoryService,
    NewMemory,
    NewTask,
    Principal,
    Tier,
    load_locomo,
)
from memory.errors import ColonyError, InvalidInputError

__all__ = ["fuzz"]

_ADMIN = Principal.admin()
_SQLISH = (
    "",
    " ",
    "\x00",
    "'; DROP TABLE memories; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "NULL",
    "\u202e\u202dtxet",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "a\x00b",
    "/",
    "..",
    "💾" * 3,
)


def fuzz(cases: int = 10_000, *, seed: int = 0, folder: str | Path | None = None) -> dict[str, Any]:
    """Run ``cases`` generated cases; returns the counts and up to 10 examples of each kind.

    Returns:
        ``{"fuzz_cases", "unhandled_exceptions", "rejections", "unclear_rejections",
        "integrity_problems", "unhandled_examples" (one per operation and exception type),
        "unclear_examples", "operations"}``.

    Raises:
        InvalidInputError: ``cases`` is not an int >= 1, or hypothesis is not installed.
    """
    if not isinstance(cases, int) or isinstance(cases, bool) or cases < 1:
        raise InvalidInputError(f"cases must be an int >= 1, got {cases!r}")
    if importlib.util.find_spec("hypothesis") is None:  # pragma: no cover - dev extra
        raise InvalidInputError('fuzzing needs hypothesis: pip install -e ".[dev]"')
    with tempfile.TemporaryDirectory(dir=folder) as work:
        return _fuzz(cases, seed, Path(work))


def _fuzz(cases: int, seed: int, work: Path) -> dict[str, Any]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st
    from typer.testing import CliRunner

    from agents import Agent
    from orchestrator import Sequential, Team
    from orchestrator.cli import app

    any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
    text = st.one_of(
        st.text(any_char, max_size=40),
        st.sampled_from(_SQLISH),
        st.text(any_char, min_size=1, max_size=4).map(lambda s: s * 4000),  # up to 16k chars
        st.text(max_size=300),
    )
    junk = st.one_of(
        st.none(), st.integers(), st.floats(), st.binary(max_size=20), st.lists(st.integers())
    )
    maybe_text = st.one_of(text, text, text, junk)
    segment = st.one_of(st.sampled_from(["team", "agent", "user", "global", "t", "a"]), text)
    namespace = st.one_of(
        st.lists(segment, max_size=5).map(tuple),
        st.tuples(st.just("team"), st.just("t"), segment),
        junk,
        text,
    )
    when = st.one_of(
        st.none(),
        st.datetimes(),
        st.datetimes(timezones=st.just(UTC)),
        text,
        st.integers(),
    )
    count = st.one_of(st.integers(-5, 50), st.integers(), st.floats(), st.none(), text)
    json_value = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )
    metadata = st.one_of(st.dictionaries(st.text(max_size=10), json_value, max_size=4), junk)
    principal = st.one_of(
        st.just(_ADMIN),
        st.just(_ADMIN),
        st.builds(Principal.agent, st.sampled_from(["t", "u"]), st.sampled_from(["a", "b"])),
        junk,
    )
    tiers = st.one_of(st.none(), st.lists(st.sampled_from(list(Tier))), st.lists(text), junk)
    ids: list[str] = []

    with MemoryService.open(work / "fuzz.duckdb", embedder=HashEmbedder()) as service:
        for i in range(5):  # something to read, update and delete from the first case on
            ids.append(
                service.add(f"seed memory {i}", principal=_ADMIN, namespace=("team", "t")).id
            )
        memory_id = st.one_of(st.sampled_from(ids), st.sampled_from(ids), maybe_text)

        def ops(d: Any) -> dict[str, Callable[[], Any]]:
            """Each operation, its arguments drawn only when it is the one picked."""
            return {
                "add": lambda: ids.append(
                    service.add(
                        d(maybe_text),
                        principal=d(principal),
                        namespace=d(namespace),
                        entities=d(st.one_of(st.lists(text, max_size=3), junk)),
                        metadata=d(metadata),
                        valid_from=d(when),
                        valid_to=d(when),
                        trust=d(st.one_of(st.floats(), junk)),
                    ).id
                ),
                "add_many": lambda: service.add_many(
                    [NewMemory(d(namespace), d(maybe_text)) for _ in range(d(st.integers(0, 3)))],
                    principal=d(principal),
                ),
                "update": lambda: service.update(
                    d(memory_id),
                    d(st.one_of(maybe_text, st.none())),
                    principal=d(principal),
                    expected_version=d(st.one_of(st.integers(0, 4), junk)),
                    metadata=d(st.one_of(st.none(), metadata)),
                    valid_from=d(when),
                ),
                "delete": lambda: service.delete(
                    d(memory_id),
                    principal=d(principal),
                    expected_version=d(st.one_of(st.none(), st.integers(0, 4), junk)),
                ),
                "get": lambda: service.get(d(memory_id), principal=d(principal), as_of=d(when)),
                "history": lambda: service.history(d(memory_id), principal=d(principal)),
                "versions": lambda: service.versions(d(memory_id), principal=d(principal)),
                "search": lambda: service.search(
                    d(maybe_text),
                    principal=d(principal),
                    namespace_prefix=d(namespace),
                    tiers=d(tiers),
                    k=d(count),
                    as_of=d(when),
                    since=d(when),
                    until=d(when),
                    metadata=d(st.one_of(st.none(), metadata)),
                ),
                "search_vector": lambda: service.search_vector(
                    d(st.one_of(st.lists(st.floats(), max_size=300), junk, text)),
                    principal=d(principal),
                    k=d(count),
                ),
                "list_namespaces": lambda: service.list_namespaces(
                    principal=d(principal),
                    prefix=d(namespace),
                    max_depth=d(count),
                    limit=d(count),
                    offset=d(count),
                ),
                "export": lambda: service.export_arrow(
                    principal=d(principal), namespace_prefix=d(namespace)
                ),
                "remember": lambda: service.remember(
                    [
                        Candidate(
                            d(maybe_text), d(namespace), speaker=d(st.one_of(st.none(), text))
                        )
                        for _ in range(d(st.integers(0, 2)))
                    ],
                    principal=d(principal),
                    policy=_policy(),
                ),
                "credit": lambda: service.credit(
                    d(memory_id), d(st.one_of(st.floats(), junk)), principal=d(principal)
                ),
                "write": lambda: service.write(
                    principal=d(principal),
                    memories=d(
                        st.one_of(
                            st.lists(
                                st.builds(NewMemory, namespace, maybe_text, id=st.none()),
                                max_size=2,
                            ),
                            junk,
                        )
                    ),
                    credits=d(
                        st.one_of(
                            st.none(),
                            st.dictionaries(
                                st.one_of(st.sampled_from(ids), text),
                                st.one_of(st.floats(), junk),
                                max_size=2,
                            ),
                            junk,
                        )
                    ),
                    tasks=d(
                        st.one_of(
                            st.lists(st.builds(NewTask, maybe_text, namespace), max_size=2), junk
                        )
                    ),
                    edges=d(
                        st.one_of(
                            st.lists(
                                st.builds(
                                    Edge,
                                    maybe_text,
                                    maybe_text,
                                    st.one_of(st.sampled_from(list(EdgeType)), text),
                                    namespace=namespace,
                                    weight=st.one_of(st.floats(), junk),
                                ),
                                max_size=2,
                            ),
                            junk,
                        )
                    ),
                ),
                "add_task": lambda: service.add_task(
                    d(maybe_text), principal=d(principal), namespace=d(namespace)
                ),
                "team": lambda: Team(
                    d(maybe_text),
                    [
                        Agent(d(maybe_text), d(maybe_text), d(st.none()), max_steps=d(count))
                        for _ in range(d(st.integers(0, 2)))
                    ],
                    flow=Sequential(),
                ),
                "conversation file": lambda: load_locomo(
                    _write(work / f"conv-{len(ids)}.json", d(json_value), d(st.booleans()))
                ),
                "cli": lambda: _cli(
                    runner,
                    app,
                    d(
                        st.sampled_from(
                            [
                                ["memory", "search", "QUERY"],
                                ["memory", "history", "QUERY"],
                                ["memory", "namespaces", "--prefix", "QUERY"],
                                ["memory", "search", "x", "--namespace", "QUERY", "--k", "QUERY"],
                            ]
                        )
                    ),
                    d(st.text(st.characters(codec="utf-8"), max_size=40)),
                    work,
                ),
            }

        runner = CliRunner()
        counts = {"cases": 0, "rejections": 0}
        unhandled: list[str] = []
        unclear: list[str] = []
        kinds: dict[str, str] = {}  # the first example of each operation and exception type
        operations: dict[str, int] = {}

        @seeded(seed)
        @settings(
            max_examples=cases,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def case(data: Any) -> None:
            table = ops(data.draw)
            name = data.draw(st.sampled_from(sorted(table)))
            counts["cases"] += 1
            operations[name] = operations.get(name, 0) + 1
            try:
                table[name]()
            except _CliRejected as exc:
                counts["rejections"] += 1
                if not str(exc).strip():
                    unclear.append(f"{name}: an empty usage error")
            except ColonyError as exc:
                counts["rejections"] += 1
                if not str(exc).strip():
                    unclear.append(f"{name}: {type(exc).__name__} with no message")
            except Exception as exc:
                unhandled.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                kinds.setdefault(f"{name}: {type(exc).__name__}", unhandled[-1])

        case()
        problems = service.check_integrity(principal=_ADMIN)
    return {
        "fuzz_cases": counts["cases"],
        "unhandled_exceptions": len(unhandled),
        "rejections": counts["rejections"],
        "unclear_rejections": len(unclear),
        "integrity_problems": problems,
        "unhandled_examples": list(kinds.values())[:20],
        "unclear_examples": unclear[:10],
        "operations": dict(sorted(operations.items())),
    }


_POLICY: Any = None


def _policy() -> Any:
    global _POLICY
    if _POLICY is None:
        from policies import make_policy

        _POLICY = make_policy("heuristic")
    return _POLICY


def _write(path: Path, value: Any, as_json: bool) -> Path:
    """A conversation file holding ``value`` as JSON, or as broken text."""
    body = json.dumps(value, allow_nan=True) if as_json else repr(value)[:-1]
    path.write_text(body, encoding="utf-8")
    return path


class _CliRejected(Exception):
    """The CLI refused its arguments with a usage error (exit code 2) and said why."""


def _cli(runner: Any, app: Any, template: list[str], value: str, work: Path) -> None:
    """Run one ``colony`` command with ``value`` in place of QUERY, on a store of its own."""
    import click

    store = work / "cli.duckdb"
    if not store.exists():
        with MemoryService.open(store, embedder=HashEmbedder()) as service:
            service.add("a memory", principal=_ADMIN, namespace=("team", "t"))
    args = [value if part == "QUERY" else part for part in template] + ["--store", str(store)]
    result = runner.invoke(app, args, env={"COLONY_EMBEDDER": "hash"})
    error = result.exception
    if error is None or (isinstance(error, SystemExit) and result.exit_code in (0, 1)):
        return
    if isinstance(error, SystemExit) and result.exit_code == 2:  # click's usage error
        raise _CliRejected(result.output.strip().splitlines()[-1] if result.output else "")
    if isinstance(error, ColonyError | click.ClickException):
        raise InvalidInputError(str(error) or type(error).__name__) from error
    raise error
