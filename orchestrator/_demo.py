"""``colony demo``: an offline end-to-end run on the embedded defaults, then where to look."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from memory import MemoryService, default_embedder
from memory._namespace import has_prefix, split_namespace
from memory.errors import InvalidInputError
from orchestrator._demo_memory import TEAM_NAMESPACE, run_memory_demo
from orchestrator._demo_team import HELPDESK_NAMESPACE, DemoPass, run_team_demo

__all__ = ["clear_previous_demo", "run_demo"]

DEMO_NAMESPACES = (TEAM_NAMESPACE, HELPDESK_NAMESPACE)
"""Every memory and task the demo writes lives under one of these."""


def run_demo(
    store: Path,
    *,
    checkpoints: Path | None = None,
    embedder: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[DemoPass]:
    """Run the memory demo and the team demo on a fresh store; returns the team's passes.

    A store a previous demo wrote at ``store`` is replaced; any other file there is left
    alone, and :class:`InvalidInputError` says why. The team's runs go to ``checkpoints``
    (default: ``checkpoints.sqlite`` beside the store, the file teams share by default),
    each in a new thread: earlier threads stay resumable.
    """
    checkpoints = checkpoints or store.with_name("checkpoints.sqlite")
    clear_previous_demo(store)
    echo(f"Colony demo: memory store {store}, checkpoints {checkpoints}")
    with MemoryService.open(store, embedder=default_embedder(embedder)) as service:
        changed = run_memory_demo(service, echo=echo)
        echo("")
        passes = run_team_demo(service, checkpoints, echo=echo)
        stats = service.stats()
    echo("")
    echo(f"stored {stats['current']} current memories ({stats['versions']} versions).")
    echo("Next:")
    echo(f"  colony memory namespaces --store {store}")
    echo(f'  colony memory search "phone extension" --namespace team/helpdesk --store {store}')
    if changed is not None:
        echo(f"  colony memory history {changed} --store {store}")
    echo('  colony run examples/quickstart.py:team --task "Plan a launch"')
    echo("  README.md: teams on Ray, checkpoints and resume, examples")
    return passes


def clear_previous_demo(store: Path) -> None:
    """Delete the memory store a previous demo wrote at ``store``, and nothing else.

    Raises:
        InvalidInputError: ``store`` is a folder, is not a memory store, or holds memories
            or tasks outside :data:`DEMO_NAMESPACES` (current or not: their history is
            data too).
    """
    if store.is_dir():
        raise InvalidInputError(
            f"the demo's memory store {str(store)!r} is a folder; give a file path, such as "
            f"--store {store / 'memory.duckdb'}"
        )
    if not store.exists():
        return
    refuse = (
        f"the demo writes a fresh memory store and will not replace {str(store)!r}, "
        "which it did not write"
    )
    try:
        with duckdb.connect(str(store), read_only=True) as db:
            rows = db.execute(
                "SELECT DISTINCT namespace FROM memories UNION SELECT DISTINCT namespace FROM tasks"
            ).fetchall()
    except duckdb.Error as exc:
        raise InvalidInputError(
            f"{refuse} (not a memory store: {exc}); choose another --store"
        ) from exc
    foreign = sorted(
        "/".join(space)
        for (joined,) in rows
        if not any(has_prefix(space := split_namespace(joined), mine) for mine in DEMO_NAMESPACES)
    )
    if foreign:
        raise InvalidInputError(
            f"{refuse}: it holds memories in {', '.join(foreign[:5])}"
            f"{' and more' if len(foreign) > 5 else ''}; choose another --store"
        )
    store.unlink()
    store.with_name(store.name + ".wal").unlink(missing_ok=True)
