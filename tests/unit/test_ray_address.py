"""A Ray cluster address where nothing answers fails at once, naming the address."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memory.errors import InvalidInputError
from orchestrator._runtime import _check_reachable

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_nothing_listening_is_named_with_the_reason(scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    with pytest.raises(InvalidInputError) as refused:
        _check_reachable(address, "the address")
    assert f"no Ray cluster answers at the address {address!r} (Connection refused)" in str(
        refused.value
    )


def test_a_port_out_of_range_is_named() -> None:
    with pytest.raises(InvalidInputError, match="a port is 1-65535, got 70000"):
        _check_reachable("127.0.0.1:70000", "RAY_ADDRESS")


def test_a_listening_port_and_addresses_ray_resolves_pass() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        _check_reachable(f"127.0.0.1:{server.getsockname()[1]}", "the address")
    for address in ("auto", "local", "head-node"):
        _check_reachable(address, "the address")


def test_colony_run_with_a_dead_address_fails_fast_and_cleanly() -> None:
    address = f"127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    command = ["run", "examples/quickstart.py:team", "--task", "x", "--runtime", "ray"]
    command += ["--address", address, "--no-traces"]
    out = subprocess.run(
        [sys.executable, "-c", "from orchestrator.cli import main; main()", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLONY_EMBEDDER": "hash"},
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert f"colony: error: no Ray cluster answers at the address {address!r}" in out.stderr
    assert "Traceback" not in out.stderr
    assert time.monotonic() - started < 60  # Ray alone retries for minutes
