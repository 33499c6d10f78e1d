"""Dashboard pages on a large trace store: 10,000 runs and 1,000,000 spans by default.

Run: ``colony bench dashboard --json`` (or ``python -m benchmarks.dashboard``). The store is
generated in a temporary directory by one SQL statement (runs of a root, agent, model-call
and memory-decision spans, some failed); each page is rendered ``repeats`` times and the
median reported, in milliseconds. Issue 5 asks that the dashboard stay responsive at this
scale: every list is paged in SQL.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from benchmarks._main import run_as_script
from memory.errors import InvalidInputError
from orchestrator._dashboard import Dashboard, policy_page, run_page, runs_page
from telemetry._export import SCHEMA

__all__ = ["main", "run_dashboard", "synthetic_trace_store"]

_START_NS = 1_764_900_000_000_000_000


def synthetic_trace_store(path: str | Path, runs: int, spans_per_run: int) -> None:
    """Write ``runs`` runs of ``spans_per_run`` spans each into a trace store at ``path``.

    Run ``r`` is ``run<r>`` of team ``bench``; every tenth run is ``interrupted``; spans are
    agents (``a0``-``a2``), model calls and memory decisions (ADD, every fourth an UPDATE);
    one span in 97 failed.
    """
    with duckdb.connect(str(path)) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            """
            INSERT INTO spans
            SELECT
              lpad(printf('%x', r), 32, '0'),
              lpad(printf('%x', r * $n + i), 16, '0'),
              CASE WHEN i = 0 THEN NULL ELSE lpad(printf('%x', r * $n), 16, '0') END,
              CASE WHEN i = 0 THEN 'invoke_workflow bench'
                   WHEN i % 10 = 1 THEN 'invoke_agent a' || (i % 3)
                   WHEN i % 10 < 5 THEN 'chat M' ELSE 'create_memory memory.duckdb' END,
              CASE WHEN i % 10 BETWEEN 2 AND 4 THEN 'CLIENT' ELSE 'INTERNAL' END,
              $start + r * 1000000000 + i * 1000000,
              $start + r * 1000000000 + i * 1000000 + 500000
                + CASE WHEN i = 0 THEN $n * 1000000 ELSE 0 END,
              CASE WHEN i % 97 = 13 THEN 'ERROR' ELSE 'UNSET' END,
              CASE WHEN i % 97 = 13 THEN 'ValueError: boom' END,
              CASE WHEN i = 0 THEN 'invoke_workflow' WHEN i % 10 = 1 THEN 'invoke_agent'
                   WHEN i % 10 < 5 THEN 'chat' ELSE 'create_memory' END,
              CASE WHEN i = 0 THEN 'run' || r END,
              CASE WHEN i % 10 = 1 THEN 'a' || (i % 3) END,
              'colony',
              NULL,
              CASE WHEN i = 0 THEN json_object(
                     'gen_ai.workflow.name', 'bench',
                     'colony.run.status', CASE WHEN r % 10 = 0 THEN 'interrupted' ELSE 'done' END,
                     'gen_ai.usage.input_tokens', 100, 'gen_ai.usage.output_tokens', 20)
                   WHEN i % 10 >= 5 THEN json_object(
                     'colony.memory.decision', CASE WHEN i % 4 = 0 THEN 'UPDATE' ELSE 'ADD' END,
                     'colony.memory.policy', 'heuristic')
                   ELSE '{}' END,
              '[]',
              '{}'
            FROM range($runs) t1(r), range($n) t2(i)
            """,
            {"runs": runs, "n": spans_per_run, "start": _START_NS},
        )


def _median_ms(render: Callable[[], str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        render()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e3, 1)


def run_dashboard(
    *, runs: int = 10_000, spans_per_run: int = 100, repeats: int = 5
) -> dict[str, Any]:
    """Generate the store and time each page; returns the figures in milliseconds."""
    for label, value in (("runs", runs), ("spans_per_run", spans_per_run), ("repeats", repeats)):
        if not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{label} must be an int >= 1, got {value!r}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traces.duckdb"
        started = time.perf_counter()
        synthetic_trace_store(path, runs, spans_per_run)
        generated_s = time.perf_counter() - started
        board = Dashboard(path, None)
        middle = str(runs // 2)
        pages = {
            "runs_first_page_ms": lambda: runs_page(board, {}),
            "runs_middle_page_ms": lambda: runs_page(board, {"page": str(runs // 100)}),
            "runs_filtered_ms": lambda: runs_page(board, {"status": "interrupted", "q": "run99"}),
            "run_waterfall_ms": lambda: run_page(board, "run" + middle),
            "policy_ms": lambda: policy_page(board),
        }
        figures = {name: _median_ms(render, repeats) for name, render in pages.items()}
    return {
        "runs": runs,
        "spans": runs * spans_per_run,
        **figures,
        "slowest_page_ms": max(figures.values()),
        "generate_s": round(generated_s, 1),
        "repeats": repeats,
    }


def summarize(result: dict[str, Any]) -> str:
    """One human line for stderr."""
    return (
        f"dashboard on {result['runs']:,} runs / {result['spans']:,} spans: runs page "
        f"{result['runs_first_page_ms']} ms, a run's waterfall {result['run_waterfall_ms']} ms, "
        f"policy {result['policy_ms']} ms; slowest page {result['slowest_page_ms']} ms"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print JSON on stdout and a summary on stderr."""
    run_as_script(run_dashboard, summarize, __doc__, argv)


if __name__ == "__main__":
    main()
