"""examples/memory_team.py on Ray: reader actors ingest the LoCoMo files in parallel."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCOMO = REPO.parent / "shared" / "data" / "locomo"


@pytest.mark.skipif(not LOCOMO.is_dir(), reason="needs ../shared/data/locomo beside the repo")
def test_memory_team_on_ray_over_the_locomo_files(
    local_ray: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location(
        "memory_team_ray", REPO / "examples/memory_team.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    code = example.main(
        [str(LOCOMO), "--questions", "2", "--runtime", "ray", "--store", str(tmp_path / "m.duckdb")]
    )

    out = capsys.readouterr().out
    assert code == 0
    files = sorted(LOCOMO.glob("*.json"))
    for i, path in enumerate(files):
        assert f"reader_{i}: remembered" in out and path.name in out
    assert out.count("(sources: ") >= 2 * len(files)
    assert local_ray.is_initialized()  # the example leaves a Ray it did not start running
