"""Access control over every principal x namespace x operation, and concurrent writers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

from benchmarks.fuzz import fuzz
from benchmarks.reliability import (
    NAMESPACES,
    OPERATIONS,
    PRINCIPALS,
    acl_matrix,
    soak,
)
from memory import MemoryService, Principal
from memory._access import AccessRules, Action, Grant
from memory.errors import InvalidInputError
from orchestrator import RunResult, TeamSession
from orchestrator.cli import app

pytestmark = pytest.mark.integration  # real DuckDB files

runner = CliRunner()


def test_the_bench_finds_no_lost_update_and_no_access_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole bench through its command: every figure, the writers, the access matrix,
    the killed memory actor and poisoning at full size; its fuzzing and soak at a tenth and
    a fiftieth here, as ``test_reliability_fuzz.py`` and ``test_reliability_soak.py`` run
    them at full size (each file on its own, so ``pytest -n 2`` runs them side by side)."""
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")  # the soak's memory: no model to load
    args = ["--bumps", "10", "--fuzz-cases", "1000", "--soak-runs", "20", "--json"]
    result = runner.invoke(app, ["bench", "reliability", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[0])
    assert data["acl_violation_examples"] == []
    assert data["acl_violations"] == 0
    assert data["acl_cases"] == len(PRINCIPALS) * len(NAMESPACES) * len(OPERATIONS)
    assert data["concurrent_writers"] == 16 and data["lost_updates"] == 0
    assert data["writes_per_s"] > 0
    assert data["fuzz_cases"] >= 1000 and data["unhandled_exceptions"] == 0
    assert data["unhandled_examples"] == [] and data["fuzz_integrity_problems"] == []
    assert data["fuzz_unclear_rejections"] == 0
    assert data["memory_actor_restarted"] is True
    assert data["acknowledged_writes"] == 160
    assert data["lost_acknowledged_writes"] == 0 and data["duplicate_writes"] == 0
    assert data["soak_runs"] == 20
    assert data["rss_growth_mb"] <= data["rss_bound_mb"]
    assert data["open_files_growth"] <= data["open_files_bound"]
    assert data["poisoning_asr_defended"] <= 0.05 < data["poisoning_asr_undefended"]
    assert data["clean_utility_ratio"] >= 0.95
    assert data["poisoning"]["defended"]["quarantined"] > 0


def test_the_matrix_counts_a_rule_that_lets_too_much_through(tmp_path: Path) -> None:
    # Agent u/c is granted a's private memory, which the default rules keep from it.
    leak = Grant(("agent", "t", "a"), Principal.agent("u", "c").id, frozenset(Action))
    result = acl_matrix(
        tmp_path / "acl.duckdb", rules=AccessRules((leak,)), principals=["agent u/c"]
    )
    leaked = {v.split(":")[0] for v in result["violations"]}
    assert "agent u/c / get / a's private" in leaked
    assert "agent u/c / search everywhere / a's private" in leaked
    assert "agent u/c / update / a's private" in leaked
    assert all("a's private" in v for v in leaked)  # and nothing else
    assert result["acl_violations"] == len(OPERATIONS)


def test_the_fuzzer_reports_an_exception_that_is_not_a_clear_rejection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: MemoryService, memory_id: object, **_: object) -> None:
        raise TypeError("boom")

    monkeypatch.setattr(MemoryService, "get", broken)
    result = fuzz(300)
    assert result["unhandled_exceptions"] > 0
    assert "get: TypeError: boom" in result["unhandled_examples"]


def test_the_soak_sees_files_left_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    leaked: list[IO[bytes]] = []
    run = TeamSession.run

    def leaky(self: TeamSession, task: str, **kwargs: Any) -> RunResult:
        leaked.append(open(os.devnull, "rb"))  # noqa: SIM115 - the leak under test
        return run(self, task, **kwargs)

    monkeypatch.setattr(TeamSession, "run", leaky)
    try:
        result = soak(tmp_path, runs=30, per_session=10)
    finally:
        for handle in leaked:
            handle.close()
    assert result["soak_runs"] == 30 and result["soak_warmup_runs"] == 20
    assert result["open_files_growth"] == 10  # the runs after the two warm-up sessions


def test_bad_counts_are_refused_by_name() -> None:
    result = runner.invoke(app, ["bench", "reliability", "--writers", "0"])
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInputError)
    assert "writers must be an int >= 1, got 0" in str(result.exception)
