"""The store's integrity check, through the service and ``colony memory check``."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from memory import HashEmbedder, MemoryService, Principal
from memory.errors import AccessDeniedError
from orchestrator.cli import app

pytestmark = pytest.mark.integration  # real DuckDB files

ADMIN = Principal.admin()
runner = CliRunner()


def _filled(path: Path) -> tuple[str, str]:
    with MemoryService.open(path, embedder=HashEmbedder()) as memory:
        kept = memory.add("Ana lives in Lisbon", principal=ADMIN, namespace=("team", "t"))
        gone = memory.add("Ana has a cat", principal=ADMIN, namespace=("team", "t"))
        memory.update(kept.id, "Ana lives in Porto", principal=ADMIN, expected_version=1)
        memory.delete(gone.id, principal=ADMIN)
        assert memory.check_integrity(principal=ADMIN) == []
        exported = memory.export_arrow(principal=ADMIN)
    with MemoryService.open(path.with_name("imported.duckdb"), embedder=HashEmbedder()) as copy:
        copy.import_arrow(exported, principal=ADMIN)  # current versions only: v2 without v1
        assert copy.check_integrity(principal=ADMIN) == []
    return kept.id, gone.id


def _damage(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as conn:
        for statement in statements:
            conn.execute(statement)


def test_a_sound_store_passes_and_the_cli_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    _filled(tmp_path / "m.duckdb")
    result = runner.invoke(app, ["memory", "check", "--store", str(tmp_path / "m.duckdb")])
    assert result.exit_code == 0, result.output
    assert "ok: 1 memories, 3 versions indexed" in result.stdout  # a tombstone is not


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["DELETE FROM history WHERE operation = 'UPDATE'"], "without exactly one history entry"),
        (["UPDATE memories SET superseded_at = NULL"], "not exactly one current version"),
        (
            ["INSERT INTO memories SELECT * FROM memories WHERE version = 1 LIMIT 1"],
            "versions not distinct and consecutive",
        ),
        (
            ["UPDATE history SET new_version = 7 WHERE operation = 'ADD'"],
            "history entry for a version that is not stored",
        ),
        (
            ["UPDATE memories SET valid_from = now(), valid_to = now() - INTERVAL 1 DAY"],
            "validity ends before it starts",
        ),
    ],
)
def test_damage_done_behind_the_stores_back_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: list[str], named: str
) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    path = tmp_path / "m.duckdb"
    _filled(path)
    _damage(path, *statements)
    with MemoryService.open(path, embedder=HashEmbedder()) as memory:
        problems = memory.check_integrity(principal=ADMIN)
    assert any(named in problem for problem in problems), problems
    result = runner.invoke(app, ["memory", "check", "--store", str(path)])
    assert result.exit_code == 1
    assert named in result.stderr


def test_only_an_admin_may_check(tmp_path: Path) -> None:
    with (
        MemoryService.open(tmp_path / "m.duckdb", embedder=HashEmbedder()) as memory,
        pytest.raises(AccessDeniedError, match="agent:t/a may not read namespace"),
    ):
        memory.check_integrity(principal=Principal.agent("t", "a"))
