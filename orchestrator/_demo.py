"""``colony demo``: an offline end-to-end run on the embedded defaults, then where to look."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from memory import MemoryService, default_embedder
from orchestrator._demo_memory import run_memory_demo
from orchestrator._demo_team import DemoPass, run_team_demo

__all__ = ["run_demo"]


def run_demo(
    store: Path,
    *,
    checkpoints: Path | None = None,
    embedder: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[DemoPass]:
    """Run the memory demo and the team demo on a fresh store; returns the team's passes."""
    checkpoints = checkpoints or store.with_name("checkpoints.sqlite")
    for old in (store, checkpoints, store.with_name(store.name + ".wal")):
        if old.exists():
            old.unlink()
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
