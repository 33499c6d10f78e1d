"""examples/cluster_team.py runs: it starts a 3-node cluster, spreads the team, shuts it down."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_team_example_spreads_agents_over_three_nodes(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cluster_team.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert re.match(r"cluster at 127\.0\.0\.1:\d+: 3 node\(s\); this script is on \w{8}$", lines[0])
    ran = dict(re.findall(r"^(\w+) +ran on node (\w{8})$", out.stdout, re.MULTILINE))
    assert sorted(ran) == ["duckdb_facts", "ray_facts", "writer"]
    assert len(set(ran.values())) == 3  # one agent per node
    here = lines[0][-8:]
    assert f"memory actor  pinned to node {here}" in lines
    assert lines[-1] == (
        "result: DuckDB keeps the team's memory in one file. "
        "Ray runs Python actors on every node of a cluster."
    )
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working directory
