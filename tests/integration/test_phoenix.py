"""A real run exported over OTLP/HTTP to Arize Phoenix on 127.0.0.1, found through its API.

Phoenix lives in a virtual environment of its own (its dependencies are not Colony's): the
test makes it on first use (``pip install arize-phoenix==PHOENIX``, about 5 minutes here) at
``COLONY_PHOENIX_VENV``, else ``~/.cache/colony/phoenix-PHOENIX``, and every later run and
clone reuses it. The test is skipped, saying why, only when that install fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import Agent, ChatResponse, Message, ScriptedModel, ToolCall, Usage
from memory import HashEmbedder, MemoryService
from orchestrator import Sequential, Team
from telemetry import tracing

pytestmark = pytest.mark.integration

PHOENIX = "20.26.1"

# Phoenix binds its OTLP/gRPC receiver to every interface and has no setting for it; this
# machine's servers listen on 127.0.0.1 only, so the launcher narrows that one call.
LAUNCHER = """
import sys
import grpc.aio._server as grpc_server

bind = grpc_server.Server.add_insecure_port
grpc_server.Server.add_insecure_port = lambda self, address: bind(
    self, address.replace("[::]", "127.0.0.1")
)
from phoenix.server.main import main

sys.argv = ["phoenix", "serve"]
sys.exit(main())
"""


def _phoenix_python() -> Path:
    """Phoenix's interpreter, installing Phoenix first if needed (skip if that fails)."""
    default = Path.home() / ".cache" / "colony" / f"phoenix-{PHOENIX}"
    venv = Path(os.environ.get("COLONY_PHOENIX_VENV", default))
    python = venv / "bin" / "python"
    if (venv / "bin" / "phoenix").exists():
        return python
    try:
        if venv.exists():
            shutil.rmtree(venv)  # a half-made one from an interrupted install
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"arize-phoenix=={PHOENIX}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(f"arize-phoenix=={PHOENIX} could not be installed in {venv}: {detail[-500:]}")
    return python


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server on 127.0.0.1 for this module, stopped by PID even when tests fail."""
    python = _phoenix_python()
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_WORKING_DIR": str(tmp_path_factory.mktemp("phoenix")),
    }
    log = tmp_path_factory.mktemp("phoenix-log") / "phoenix.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(python), "-c", LAUNCHER], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Phoenix did not start (exit {server.poll()}): {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_a_run_exported_over_otlp_is_found_in_phoenix(phoenix: str) -> None:
    calc = ScriptedModel(
        [
            ChatResponse(
                Message("assistant", "", tool_calls=[ToolCall("c1", "add", {"a": 2, "b": 3})]),
                Usage(11, 4),
            ),
            ChatResponse(Message("assistant", "5"), Usage(20, 6)),
        ]
    )
    writer = ScriptedModel([ChatResponse(Message("assistant", "It is 5."), Usage(30, 8))])
    with (
        tracing(otlp=phoenix, metrics_too=False),
        MemoryService.open(embedder=HashEmbedder()) as memory,
    ):
        team = Team(
            "phoenix-sums",
            [
                Agent(
                    "calc", "Compute.", calc, tools=[add], writes=("team", "phoenix-sums", "notes")
                ),
                Agent("writer", "Write.", writer, reads=(("team", "phoenix-sums"),)),
            ],
            flow=Sequential(),
            memory=memory,
            checkpoints=":memory:",
        )
        result = team.run("What is 2 + 3?")
    assert result.status == "done"

    # Phoenix ingests in the background: poll its REST API for the run's root span.
    deadline = time.monotonic() + 60
    roots: list[dict[str, Any]] = []
    while not roots and time.monotonic() < deadline:
        page = _get(f"{phoenix}/v1/projects/default/spans?limit=1000&parent_id=null")
        roots = [s for s in page["data"] if s["name"] == "invoke_workflow phoenix-sums"]
        time.sleep(0.5)
    assert roots, "the run's root span never reached Phoenix"
    trace_id = roots[0]["context"]["trace_id"]
    spans = _get(f"{phoenix}/v1/projects/default/spans?limit=1000&trace_id={trace_id}")["data"]
    names = sorted(s["name"] for s in spans)
    assert names.count("chat ScriptedModel") == 3 and "execute_tool add" in names
    assert {"invoke_agent calc", "invoke_agent writer"} <= set(names)
    root_attributes = roots[0]["attributes"]
    assert root_attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root_attributes["colony.run.id"] == result.thread_id
