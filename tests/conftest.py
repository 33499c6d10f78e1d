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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (the order is otherwise kept). With ``-n 2 --dist
    loadfile`` (the README's test command) their files then go to the two workers at once,
    and the rest share out behind them, instead of one of them running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
