"""Runtimes execute agent steps: in-process (``local``) or one Ray actor per agent (``ray``).

The compiled graph is the same for both; a node hands an :class:`AgentRequest` to the
runtime and gets an :class:`AgentStep` back. Ray is imported only in the ``ray`` runtime.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from agents import Agent, AgentRequest, AgentStep, AgentWorker
from memory import MemoryService
from memory.errors import InvalidInputError
from orchestrator._placement import Placement
from orchestrator.errors import TeamDefinitionError
from telemetry import RELAY_BATCH, flush_relayed, relay, split_reply, to_relay

__all__ = ["LocalRuntime", "RayRuntime", "Runtime", "start_timeout"]

START_TIMEOUT_ENV = "COLONY_ACTOR_START_TIMEOUT"
DEFAULT_START_TIMEOUT_S = 300.0


class Runtime(Protocol):
    """Where a team's agents run."""

    name: str

    def step(self, agent: str, request: AgentRequest) -> AgentStep:
        """Run one step of ``agent``."""
        ...

    def close(self) -> None:
        """Release what the runtime started."""
        ...


class LocalRuntime:
    """Runs every agent in this process.

    Like an actor, each agent takes one step at a time: parallel branches sent to the same
    agent take turns on its host (whose working memory is not thread-safe).
    """

    name = "local"

    def __init__(
        self, agents: Mapping[str, Agent], *, team: str, memory: MemoryService | None
    ) -> None:
        self.workers = {name: AgentWorker(a, team, memory) for name, a in agents.items()}
        self._locks = {name: threading.Lock() for name in agents}

    def step(self, agent: str, request: AgentRequest) -> AgentStep:
        """Run one step in-process (the same validation as across an actor boundary)."""
        with self._locks[agent]:
            reply = self.workers[agent].step(request.model_dump())
        return AgentStep.model_validate(reply)

    def close(self) -> None:
        """Nothing to release."""


def init_ray(address: str | None, *, num_cpus: int | None = None) -> bool:
    """Connect to ``address`` (or start a local Ray); returns True if this call started it.

    Every Ray process binds 127.0.0.1 unless the cluster says otherwise
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1`` in the environment lets a local Ray bind the
    machine's interfaces), also when ``ray`` was imported before this call. Without an
    address, ``RAY_ADDRESS`` is joined if set, else a new local Ray is started.
    """
    os.environ.setdefault(_LOOPBACK_SWITCH, "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    _ray_reads_the_switch()
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        joined = os.environ.get("RAY_ADDRESS") or "local"
        _check_reachable(joined, "RAY_ADDRESS")
        # Not a bare ray.init(): that joins whichever cluster `ray start` or
        # ray.cluster_utils.Cluster last recorded on this machine, and dies when it stops.
        ray.init(address=joined, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        _check_reachable(address, "the address")
        ray.init(address=address, log_to_driver=False)
    return True


PROBE_TIMEOUT_S = 5.0


def _check_reachable(address: str, source: str) -> None:
    """Fail at once, naming ``address``, when nothing answers at a ``host:port`` (or
    ``ray://host:port``) cluster address: Ray itself retries for minutes before it gives up.
    Addresses Ray resolves itself (``auto``, ``local``) are left to it.

    Raises:
        InvalidInputError: The port is not 1-65535, or no connection could be made to it
            within :data:`PROBE_TIMEOUT_S`.
    """
    host, colon, port = address.strip().removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit():
        return
    where = f"{source} {address!r}"
    if not 0 < int(port) < 65536:
        raise InvalidInputError(f"no Ray cluster at {where}: a port is 1-65535, got {port}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(
            f"no Ray cluster answers at {where} ({reason}); start one there "
            "(`ray start --head`) or give the address it printed"
        ) from exc


_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _ray_reads_the_switch() -> None:
    """Make an already imported Ray follow :data:`_LOOPBACK_SWITCH` as it is now.

    Ray reads the switch once, when it is imported: a process that imported ``ray`` before
    :func:`init_ray` set it (``colony policy train`` did, and so may a user's script) started
    a Ray whose processes listened on every interface. Ray takes its node's address from
    the constant it read, and binds its servers to that address.
    """
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is None:  # not imported yet: it will read the environment
        return
    if not hasattr(constants, "ENABLE_RAY_CLUSTER"):
        raise RuntimeError(
            "this Ray has no ray._private.ray_constants.ENABLE_RAY_CLUSTER: Colony cannot "
            f"make it follow {_LOOPBACK_SWITCH}: export {_LOOPBACK_SWITCH}=0 before Python "
            "starts, or import ray only after Colony has started it"
        )
    # Parsed as Ray parses it (ray._common.utils.env_bool).
    constants.ENABLE_RAY_CLUSTER = os.environ[_LOOPBACK_SWITCH].lower() in ("true", "1")  # type: ignore[attr-defined]


def start_timeout(value: float | None = None) -> float:
    """Seconds to wait for a team's actors to start.

    ``value``, else ``COLONY_ACTOR_START_TIMEOUT``, else 300 (long enough for an autoscaler
    to add a node; an actor that no node can ever host would otherwise wait forever).

    Raises:
        TeamDefinitionError: The value is not a number of seconds > 0.
    """
    if value is None:
        raw = os.environ.get(START_TIMEOUT_ENV, "").strip()
        if not raw:
            return DEFAULT_START_TIMEOUT_S
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not seconds > 0:  # also rejects nan
            raise TeamDefinitionError(
                f"{START_TIMEOUT_ENV} must be a number of seconds > 0, got {raw!r}"
            )
        return seconds
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise TeamDefinitionError(f"start_timeout_s must be a number of seconds > 0, got {value!r}")
    return float(value)


class RayRuntime:
    """One Ray actor per agent; I/O-bound agents reserve no CPU unless placed otherwise.

    Actors restart after a crash (``max_restarts=-1``); a step that was running when its actor
    died fails with a Ray actor error, which the node's retry policy retries on the restarted
    actor. Before that error leaves :meth:`step`, the runtime waits for the actor to be back
    (up to the start timeout): a restart on another node, after a node is lost, takes longer
    than the retry policy's backoff, and a retry sent to an actor still restarting fails at
    once. Working memory is private to the actor process and does not survive a restart.

    The constructor waits for every actor to start (see :func:`start_timeout`): an agent
    that cannot be placed, or whose host cannot be built, fails here rather than in a run.
    """

    name = "ray"

    def __init__(
        self,
        agents: Mapping[str, Agent],
        *,
        team: str,
        memory: Any = None,
        placement: Mapping[str, Placement] | None = None,
        max_concurrency: int = 1,
        start_timeout_s: float | None = None,
    ) -> None:
        import ray

        timeout = start_timeout(start_timeout_s)
        self.restart_timeout = timeout
        placement = placement or {}
        remote = ray.remote(AgentWorker)
        # What the actors send home with each reply: the spans while this process exports
        # them, the metric measurements while it exports metrics.
        self.relay = to_relay()
        self.actors: dict[str, Any] = {}
        for name, agent in agents.items():
            options = (placement.get(name) or Placement()).ray_options()
            self.actors[name] = remote.options(
                max_restarts=-1,
                max_task_retries=0,
                max_concurrency=max_concurrency,
                **options,
            ).remote(agent, team, memory, relay=self.relay)
        try:
            self._wait_started(agents, team, memory, placement, timeout)
        except BaseException:
            self.close()
            raise

    def _wait_started(
        self,
        agents: Mapping[str, Agent],
        team: str,
        memory: Any,
        placement: Mapping[str, Placement],
        timeout: float,
    ) -> None:
        """Surface unplaceable actors and constructor errors (bad access rules) before any run."""
        import ray
        from ray.exceptions import RayActorError

        pings = {name: actor.ping.remote() for name, actor in self.actors.items()}
        ready, _ = ray.wait(list(pings.values()), num_returns=len(pings), timeout=timeout)
        started = set(ready)
        waiting = {
            name: (placement.get(name) or Placement()).ray_options()
            for name, ref in pings.items()
            if ref not in started
        }
        if waiting:
            raise TeamDefinitionError(
                f"agents {sorted(waiting)} did not start within {timeout:g} s: no node of the "
                f"cluster offers what they ask for ({waiting}), or the team's memory actor "
                "has not started (Team.memory_placement). Compare Team.placement with the "
                f"nodes' resources and labels (`ray status`), or raise {START_TIMEOUT_ENV} "
                "if the cluster is only slow to start actors"
            )
        try:
            ray.get(list(pings.values()))
        except RayActorError as exc:
            if exc.actor_init_failed:
                # Ray only says that the actor died; building the hosts here raises the
                # constructor's own error (AccessDeniedError, ...) as the local runtime does.
                for agent in agents.values():
                    AgentWorker(agent, team, memory)
            raise

    def step(self, agent: str, request: AgentRequest) -> AgentStep:
        """Run one step on the agent's actor; if the actor died, wait for its restart first
        (see the class docstring), then raise the actor error for the retry policy."""
        from ray.exceptions import RayActorError

        try:
            return self._step(agent, request)
        except RayActorError:
            self._await_restart(agent)
            raise

    def _await_restart(self, agent: str) -> None:
        """Return once ``agent``'s actor answers, is gone for good, or the timeout passes."""
        import ray
        from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

        deadline = time.monotonic() + self.restart_timeout
        pause = 0.1
        while (left := deadline - time.monotonic()) > 0:
            try:
                ray.get(self.actors[agent].ping.remote(), timeout=left)
                return
            except ActorUnavailableError:  # restarting (also a RayActorError: caught first)
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(2.0, pause * 2)
            except (RayActorError, GetTimeoutError):  # dead for good, or too slow
                return

    def _step(self, agent: str, request: AgentRequest) -> AgentStep:
        import ray

        body = request.model_dump_json().encode()
        if self.relay:
            answer = self.actors[agent].step_relay.remote(body)
            flush_relayed(wait=False, batch=RELAY_BATCH)  # earlier replies', as the actor works
            reply, telemetry = split_reply(ray.get(answer))
            relay(telemetry)
        else:
            reply = ray.get(self.actors[agent].step_json.remote(body))
        return AgentStep.model_validate_json(reply)

    def close(self) -> None:
        """Kill the agent actors; the telemetry their replies brought goes to the exporters."""
        import ray

        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors.clear()
        flush_relayed()
