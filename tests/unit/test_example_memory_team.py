"""examples/memory_team.py on a generated LoCoMo-layout file (the repository ships no dataset)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from memory import Question, write_locomo
from orchestrator._demo_memory import demo_conversation

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "memory_team.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("memory_team_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readers_ingest_in_parallel_and_the_analyst_cites_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLONY_EMBEDDER", "hash")
    conv = demo_conversation()
    questions = (
        Question("Where does Ana work now?", "a design studio", ("D2:3",), "1"),
        Question("What is the name of Ben's dog?", "Pixel", ("D1:5",), "1"),
    )
    data = tmp_path / "data"
    data.mkdir()
    write_locomo(replace(conv, id="one", questions=questions), data / "one.json")
    write_locomo(replace(conv, id="two", questions=questions[:1]), data / "two.json")

    code = load_example().main([str(data), "--store", str(tmp_path / "m.duckdb")])

    out = capsys.readouterr().out
    assert code == 0
    assert "reader_0: remembered" in out and "reader_1: remembered" in out
    assert "cited gold evidence for 3/3 questions" in out
    assert "(sources: " in out and "D2:3" in out


def test_a_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        load_example().main([str(tmp_path)])
