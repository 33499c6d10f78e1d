"""`colony run file.py:team --runtime ray`: the team's module travels to the actors by value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_colony_run_a_team_file_on_ray(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLONY_EMBEDDER": "hash"}
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "run",
            str(REPO / "examples" / "quickstart.py") + ":team",
            "--task",
            "one two three",
            "--runtime",
            "ray",
        ],
        cwd=tmp_path,  # the examples' directory is not on any worker's path
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "on the ray runtime" in out.stderr
    assert "> counter is working" in out.stderr and "< writer: done" in out.stderr
    assert out.stdout.strip().splitlines()[-1] == "3"
