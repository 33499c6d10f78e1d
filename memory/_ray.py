"""The MemoryService as a Ray actor, and a client with the same API.

Ray is imported only here, at the edge. The actor owns the DuckDB file (one writer process);
every other actor holds a :class:`RemoteMemory` built from its handle. The actor is threaded
(``max_concurrency``) so concurrent writers' operations are group-committed together.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from memory._access import AccessRules
from memory._retrieval import RetrievalWeights
from memory._types import MemoryPolicy
from telemetry import Wire, attached, carrier, collect_for_relay, outgoing, relay, to_relay

__all__ = ["MemoryServiceActor", "RemoteMemory", "start_memory_actor"]


class MemoryServiceActor:
    """Actor body: opens the store inside the actor process and serves it."""

    def __init__(
        self,
        path: str,
        embedder: str | None = None,
        policy: MemoryPolicy | None = None,
        rules: AccessRules | None = None,
        weights: RetrievalWeights | None = None,
        relay: Collection[str] = (),
    ) -> None:
        from memory._embedding import default_embedder
        from memory._service import MemoryService

        if relay:
            collect_for_relay(relay)

        self._service = MemoryService.open(
            path, embedder=default_embedder(embedder), policy=policy, rules=rules, weights=weights
        )

    def call(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trace: dict[str, str] | None = None,
    ) -> Any:
        """Invoke a public service method by name, in the caller's trace (``trace``)."""
        if method.startswith("_") or method in {"open", "store"}:
            raise AttributeError(f"MemoryService has no remote method {method!r}")
        with attached(trace):
            return getattr(self._service, method)(*args, **kwargs)

    def call_relay(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trace: dict[str, str] | None = None,
    ) -> tuple[Any, list[Wire]]:
        """:meth:`call`, and the spans and measurements made here since the last reply."""
        result = self.call(method, args, kwargs, trace)
        return result, outgoing()

    def pid(self) -> int:
        """The actor's process id (tests kill it by PID)."""
        return os.getpid()

    def close(self) -> None:
        """Close the store so the file can be reopened elsewhere."""
        self._service.close()


class RemoteMemory:
    """Client of a MemoryService actor; methods mirror :class:`MemoryService`."""

    def __init__(self, handle: Any, *, relay: Collection[str] = ()) -> None:
        self.handle = handle
        self.relay = frozenset(relay)  # what the actor sends home with its replies

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        import ray

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.relay:
                return ray.get(self.handle.call.remote(method, args, kwargs, carrier()))
            result, telemetry = ray.get(
                self.handle.call_relay.remote(method, args, kwargs, carrier())
            )
            relay(telemetry)
            return result

        call.__name__ = method
        return call

    def __reduce__(self) -> tuple[Any, ...]:
        # Handles are serialisable, so clients can be passed to other actors.
        return (_remote_memory, (self.handle, self.relay))


def _remote_memory(handle: Any, relay: frozenset[str]) -> RemoteMemory:
    return RemoteMemory(handle, relay=relay)


def start_memory_actor(
    path: str | os.PathLike[str],
    *,
    embedder: str | None = None,
    policy: MemoryPolicy | None = None,
    rules: AccessRules | None = None,
    weights: RetrievalWeights | None = None,
    name: str | None = None,
    max_concurrency: int = 16,
    resources: dict[str, float] | None = None,
    label_selector: dict[str, str] | None = None,
    max_restarts: int = -1,
    relay: Collection[str] | None = None,
) -> RemoteMemory:
    """Start the MemoryService actor for ``path`` on the current Ray cluster.

    It reserves no CPU (I/O-bound) and restarts after a crash, reopening its file. Its spans
    and metrics come back with its replies as ``relay`` says (``spans``, ``metrics``; by
    default what this process exports, see :func:`telemetry.to_relay`).
    """
    relaying = to_relay() if relay is None else frozenset(relay)
    import ray

    actor_cls = ray.remote(MemoryServiceActor)
    options: dict[str, Any] = {
        "num_cpus": 0,
        "max_concurrency": max_concurrency,
        "max_restarts": max_restarts,
        "max_task_retries": 0,
    }
    if name is not None:
        options["name"] = name
    if resources:
        options["resources"] = resources
    if label_selector:
        options["label_selector"] = label_selector
    handle = actor_cls.options(**options).remote(
        os.fspath(path), embedder, policy, rules, weights, relaying
    )
    return RemoteMemory(handle, relay=relaying)
