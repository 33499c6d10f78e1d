"""The driver process is killed (SIGKILL, from outside) mid-run; `colony run --resume` finishes it.

The team's second agent runs a tool that blocks: while it does, the test kills the `colony run`
process by its PID. Resuming the thread from the command line must not ask the first agent's
model again (its step is in the checkpoint) and must complete the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # real processes, a real SQLite checkpoint file

TEAM = """
import time
from pathlib import Path
from agents import Agent, ChatResponse, Message, ScriptedModel, ToolCall
from orchestrator import Team

HERE = Path(__file__).parent

def logged(name, reply):
    def answer(messages):
        with open(HERE / "calls.log", "a") as log:
            log.write(name + "\\n")
        return reply
    return answer

def deploy(target: str) -> str:
    '''Deploy to a target.'''
    mark = HERE / "deploying"
    if not mark.exists():
        mark.write_text("1")
        time.sleep(120)  # the driver is killed here
    return f"deployed {target}"

calls = [ToolCall("1", "deploy", {"target": "prod"})]
call = ChatResponse(Message("assistant", "", tool_calls=calls))
team = Team(
    "ops",
    [
        Agent("plan", "Plan.", ScriptedModel([logged("plan", "plan: deploy to prod")] * 3)),
        Agent("ship", "Ship.", ScriptedModel([logged("ship", call), logged("ship", "shipped")] * 2),
              tools=[deploy]),
    ],
    checkpoints=HERE / "cp.sqlite",
)
"""


def colony(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", *args]


def test_a_killed_driver_resumes_from_the_checkpoint_with_colony_run_resume(
    tmp_path: Path,
) -> None:
    module = tmp_path / "ops_team.py"
    module.write_text(textwrap.dedent(TEAM))
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLONY_EMBEDDER": "hash"}
    traces = ["--traces", str(tmp_path / "traces.duckdb")]
    driver = subprocess.Popen(
        colony("run", f"{module}:team", "--task", "ship 1.2", "--thread-id", "t1", *traces),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "deploying").exists():
            assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the run never reached the second agent's tool"
            time.sleep(0.1)
        os.kill(driver.pid, signal.SIGKILL)  # the driver, by its PID, mid-step
        assert driver.wait(timeout=30) == -signal.SIGKILL
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    calls = (tmp_path / "calls.log").read_text().split()
    assert calls == ["plan", "ship"]  # killed inside ship's tool call

    resumed = subprocess.run(
        colony("run", f"{module}:team", "--resume", "t1", *traces),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "shipped" in resumed.stdout + resumed.stderr
    # The plan's step came from the checkpoint; only the interrupted step ran again.
    assert (tmp_path / "calls.log").read_text().split() == ["plan", "ship", "ship", "ship"]
