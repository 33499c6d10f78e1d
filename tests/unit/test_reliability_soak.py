"""The reliability bench's soak at the issue's size: 1,000 team runs back to back
(``colony bench reliability`` reports the same figures; ``test_reliability.py`` runs the
command with 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability import soak

pytestmark = pytest.mark.integration  # real DuckDB files


@pytest.mark.slow
def test_a_thousand_team_runs_grow_neither_memory_nor_open_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")  # the soak's memory: no model to load
    result = soak(tmp_path, runs=1000)
    assert result["soak_runs"] == 1000
    assert result["rss_growth_mb"] <= result["rss_bound_mb"]
    assert result["open_files_growth"] <= result["open_files_bound"]
