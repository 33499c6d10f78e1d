"""What a fresh interpreter imports: for the tests that keep start-up cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported once it has run ``code`` (in
    the repository, with the hash embedder); a failure of ``code`` fails the caller."""
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "COLONY_EMBEDDER": "hash"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert out.returncode == 0, out.stderr
    return {name.split(".")[0] for name in out.stdout.split()}
