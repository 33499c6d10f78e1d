"""Test-wide settings: offline, loopback-only Ray."""

from __future__ import annotations

import os

import pytest

# Before any test imports ray: bind every Ray process to 127.0.0.1, no auth, no telemetry.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Under `-n N` the workers share the machine's cores, so each takes its share of the math
# libraries' threads. Otherwise OpenMP (torch) and OpenBLAS (numpy) start a thread per core
# in every worker, and the threads that spin waiting for work fight over the cores: two
# workers each retraining the slot tagger (MiniLM) took 201 s against 86 s with one thread
# each. Set before any test imports torch or numpy; the processes tests start inherit it.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_threads, str(max(1, (os.cpu_count() or 1) // _WORKERS)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (the order is otherwise kept). With ``-n 2 --dist
    loadfile`` (the README's test command) their files then go to the two workers at once,
    and the rest share out behind them, instead of one of them running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
