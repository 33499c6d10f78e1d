"""A local Ray started by Colony listens on 127.0.0.1 only, whatever imported ray first; the
memory actor is not started on a Ray that Ray would start by itself."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc"),
]

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: Ray reads its switch when it is imported, and this test
# process has long since imported it with the switch set (tests/conftest.py).
SCRIPT = textwrap.dedent(
    """
    import json, os, tempfile
    import ray  # first, as a user's script may, before the switch is set
    from memory import Principal, start_memory_actor
    from orchestrator import init_ray

    store = os.path.join(tempfile.mkdtemp(), "memory.duckdb")
    try:  # before Ray runs: refused, rather than letting Ray start itself on every interface
        start_memory_actor(store, embedder="hash")
        refused = None
    except RuntimeError as exc:
        refused = str(exc)
    assert not ray.is_initialized()
    started = init_ray(None)
    try:
        @ray.remote(num_cpus=0)
        class Probe:
            def where(self):
                return ray.util.get_node_ip_address(), os.getpid()

        probe = Probe.remote()
        ip, pid = ray.get(probe.where.remote())
        memory = start_memory_actor(store, embedder="hash")
        memory.add("the probe ran", principal=Principal.agent("t", "a"), namespace=("team", "t"))
        print(json.dumps({
            "refused": refused,
            "started": started,
            "nodes": [n["NodeManagerAddress"] for n in ray.nodes()],
            "actor_ip": ip,
            "listening": listening(),
        }), flush=True)
    finally:
        ray.shutdown()
    """
)

# Every TCP socket in LISTEN state held by this process or its descendants (Ray's GCS,
# raylet and workers), as (address, port, command), read from /proc.
LISTENING = textwrap.dedent(
    """
    import os, socket, struct

    def _children():
        parent = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    pass
        mine, grew = {os.getpid()}, True
        while grew:
            more = {p for p, pp in parent.items() if pp in mine} - mine
            grew = bool(more)
            mine |= more
        return mine

    def _address(hex_ip):
        raw = bytes.fromhex(hex_ip)
        if len(raw) == 4:
            return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_ip, 16)))
        words = struct.unpack("<4I", raw)
        return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))

    def listening():
        sockets = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A":  # LISTEN
                        ip, port = fields[1].split(":")
                        sockets[fields[9]] = (_address(ip), int(port, 16))
        found = []
        for pid in _children():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                with open(f"/proc/{pid}/comm") as f:
                    command = f.read().strip()
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                inode = target[len("socket:["):-1] if target.startswith("socket:[") else None
                if inode in sockets:
                    found.append([*sockets[inode], command])
        return found
    """
)


def test_a_local_ray_listens_on_loopback_only_when_ray_was_imported_first() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",)}
    env.pop("RAY_ADDRESS", None)
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-c", LISTENING + SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its Ray processes share its group: stopped with it below
    )
    try:
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err[-3000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["refused"].startswith("no Ray in this process to start the memory actor for")
    assert "call orchestrator.init_ray() first" in seen["refused"]
    assert seen["started"] is True
    assert seen["nodes"] == ["127.0.0.1"] and seen["actor_ip"] == "127.0.0.1"
    commands = {command for _, _, command in seen["listening"]}
    assert {"gcs_server", "raylet"} <= commands, seen["listening"]  # the probe sees Ray's
    assert "ray::MemoryServ" in commands, commands  # /proc comm: 15 characters
    exposed = [s for s in seen["listening"] if not _loopback(s[0])]
    assert exposed == [], f"Ray listens beyond loopback: {exposed}"


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def test_a_ray_without_the_switch_is_refused_rather_than_started_on_every_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator._runtime import _ray_reads_the_switch

    monkeypatch.setitem(sys.modules, "ray._private.ray_constants", types.ModuleType("renamed"))
    with pytest.raises(RuntimeError, match="RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before Python"):
        _ray_reads_the_switch()
